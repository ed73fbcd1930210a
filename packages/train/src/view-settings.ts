// The training app's view geometry defaults, shared by training, pre-training and evaluation so
// that a teacher is trained and evaluated on the crops it is distilled with.
/**
 * Padding of the positive crop around the target box, as a fraction of the box's size. 0: the
 * crop is the box itself. The paper's negative is a region of the crop's size in the image
 * downsampled 2x (so it spans twice the crop per side) that avoids the box; with the default
 * worlds' 40-56 px targets on a 256x192 canvas it fits for 99% of prompts at padding 0, but for
 * 17% at 0.5 (docs/results/negative-view.md).
 */
export const DEFAULT_CROP_PADDING = 0;

/**
 * Where the paper's negative cannot be made: first the same rule at full resolution (a region of
 * the crop's size that does not intersect the box), then a blank image. Neither can show the
 * target; each use is counted per step (`negativeModes`).
 */
export const NEGATIVE_VIEW_FALLBACKS = ['outside-crop', 'blank'] as const;
