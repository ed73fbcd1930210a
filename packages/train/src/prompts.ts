// From a sample to the three prompts V-Zero needs: the student's [full image, question], and
// the teacher's [full image, positive crop, question] and [full image, negative view, question].
// The two teacher prompts carry the same full-image PromptImage id, so the teacher encodes that
// prefix once. Views are cached: every epoch after the first reuses them.
import {
  InvalidInputError,
  deriveSeed,
  type LabelFreeSample,
  type LabelledSample,
  type Prompt,
  type PromptImage,
} from '@vzero/core';
import type { ModelConfig } from '@vzero/model';
import type { ReplayViews } from '@vzero/teacher';
import { ViewCache, buildViews, toPromptImage, type NegativeViewMode, type SampleViews } from '@vzero/views';
import { formatPrompt } from '@vzero/world';
import { DEFAULT_CROP_PADDING, NEGATIVE_VIEW_FALLBACKS } from './view-settings.js';

export interface PromptSettings {
  /** Negative view mode (docs/METHOD.md); 'random-positive' makes both views random crops. */
  readonly negative: NegativeViewMode;
  readonly factor: number;
  /** Padding around the target box, as a fraction of its size. */
  readonly padding: number;
  readonly seed: number;
  /** Also attach PNG bytes (for remote policies); local models read pixels only. */
  readonly encode: boolean;
  /** Crop side when there is no local teacher config to read it from (default: the student's full size). */
  readonly cropSize?: number;
  /**
   * A teacher with the student's own one-slot layout (a self-teacher): its prompts are [crop,
   * question], the positive crop or the negative view read in the image slot at the student's
   * size, instead of [full image, crop, question].
   */
  readonly teacherCropOnly?: boolean;
}

export interface SamplePrompts {
  readonly student: Prompt;
  readonly teacher: ReplayViews;
  /** The negative mode that produced z- (differs from the requested one after a fallback). */
  readonly negativeMode: NegativeViewMode;
}

/** What prompts need of a model: its image slots (role and size). */
export type ImageSlots = Pick<ModelConfig, 'images'>;

function slotSize(config: ImageSlots, role: 'full' | 'crop', who: string): number {
  const slot = config.images.find((s) => s.role === role);
  if (!slot) throw new Error(`${who} model has no ${role} image slot`);
  return slot.size;
}

/** Views need no answers; labelled samples are accepted for the baselines and evaluation. */
export type QuestionSample = LabelFreeSample | LabelledSample;

export class PromptFactory {
  private readonly cache = new ViewCache<SampleViews>({ maxEntries: 4096 });
  private readonly studentSize: number;
  private readonly teacherFull: number;
  private readonly teacherCrop: number;

  constructor(
    studentConfig: ImageSlots,
    teacherConfig: ImageSlots | undefined,
    private readonly settings: PromptSettings,
  ) {
    this.studentSize = slotSize(studentConfig, 'full', 'student');
    this.teacherFull = teacherConfig ? slotSize(teacherConfig, 'full', 'teacher') : this.studentSize;
    this.teacherCrop = settings.teacherCropOnly
      ? this.studentSize
      : teacherConfig
        ? slotSize(teacherConfig, 'crop', 'teacher')
        : (settings.cropSize ?? this.studentSize);
  }

  get cacheStats() {
    return this.cache.stats();
  }

  private async views(sample: QuestionSample, size: number): Promise<SampleViews> {
    return buildViews(
      sample.image,
      sample.boxes,
      {
        size,
        cropSize: this.teacherCrop,
        padding: this.settings.padding,
        minSize: 8,
        square: true,
        negative: this.settings.negative,
        // The paper's negative can be impossible when the box covers most of the image; the
        // fallbacks never show the target, and the mode used is counted in the metrics.
        fallback: this.settings.negative === 'outside-downsampled' ? NEGATIVE_VIEW_FALLBACKS : 'none',
        factor: this.settings.factor,
        seed: this.settings.seed,
        kernel: 'linear',
      },
      { key: sample.id, cache: this.cache, boxOutside: 'clip' },
    );
  }

  private image(view: Parameters<typeof toPromptImage>[0], role: 'full' | 'crop'): Promise<PromptImage> {
    return toPromptImage(view, role, this.settings.encode ? 'both' : 'pixels');
  }

  /** The student's prompt only (evaluation, SFT). */
  async student(sample: QuestionSample): Promise<Prompt> {
    const v = await this.views(sample, this.studentSize);
    return { id: sample.id, images: [await this.image(v.full, 'full')], text: formatPrompt(sample) };
  }

  /** The teacher's positive prompt [full image, positive crop, question] (pre-training, evaluation). */
  async teacherPositive(sample: QuestionSample): Promise<Prompt> {
    const v = await this.views(sample, this.teacherFull);
    const images = [await this.image(v.full, 'full'), await this.image(v.positive, 'crop')];
    return { id: `${sample.id}:pos`, images, text: formatPrompt(sample) };
  }

  /**
   * The teacher's negative prompt [full image, negative view, question]: pre-training a teacher
   * on it teaches what to answer when the crop holds no evidence (the full image and the prior).
   */
  async teacherNegative(sample: QuestionSample): Promise<Prompt> {
    const v = await this.views(sample, this.teacherFull);
    if (!v.negative.ok) {
      throw new Error(`sample ${sample.id}: no negative view (${v.negative.reason}: ${v.negative.detail})`);
    }
    const images = [await this.image(v.full, 'full'), await this.image(v.negative, 'crop')];
    return { id: `${sample.id}:neg`, images, text: formatPrompt(sample) };
  }

  /** Student prompt and both teacher prompts. */
  async forSample(sample: LabelFreeSample): Promise<SamplePrompts> {
    if (this.settings.teacherCropOnly) return this.forSampleCropOnly(sample);
    const text = formatPrompt(sample);
    const tv = await this.views(sample, this.teacherFull);
    const sv = this.studentSize === this.teacherFull ? tv : await this.views(sample, this.studentSize);
    const full = await this.image(tv.full, 'full');
    const student: Prompt = { id: sample.id, images: [await this.image(sv.full, 'full')], text };
    const positive: Prompt = {
      id: `${sample.id}:pos`,
      images: [full, await this.image(tv.positive, 'crop')],
      text,
    };
    if (!tv.negative.ok) {
      throw new Error(`sample ${sample.id}: no negative view (${tv.negative.reason}: ${tv.negative.detail})`);
    }
    const negative: Prompt = {
      id: `${sample.id}:neg`,
      images: [full, await this.image(tv.negative, 'crop')],
      text,
    };
    return { student, teacher: { positive, negative }, negativeMode: tv.negative.mode };
  }

  /** A self-teacher's prompts: the crop, or the negative view, alone in the image slot. */
  private async forSampleCropOnly(sample: LabelFreeSample): Promise<SamplePrompts> {
    const text = formatPrompt(sample);
    const v = await this.views(sample, this.studentSize);
    const student: Prompt = { id: sample.id, images: [await this.image(v.full, 'full')], text };
    if (!v.negative.ok) {
      throw new Error(`sample ${sample.id}: no negative view (${v.negative.reason}: ${v.negative.detail})`);
    }
    const positive: Prompt = { id: `${sample.id}:pos`, images: [await this.image(v.positive, 'full')], text };
    const negative: Prompt = { id: `${sample.id}:neg`, images: [await this.image(v.negative, 'full')], text };
    return { student, teacher: { positive, negative }, negativeMode: v.negative.mode };
  }
}

/**
 * The prompt a model answers from, by its own layout: [full image, positive crop, question] for
 * a model with a crop slot (the teacher's), [full image, question] otherwise. Used wherever a
 * single model is trained with labels or evaluated (pre-training, eval, the demo).
 */
export function promptsForModel(
  config: ModelConfig,
  seed: number,
  padding = DEFAULT_CROP_PADDING,
): {
  readonly withCrop: boolean;
  readonly promptFor: (sample: QuestionSample) => Promise<Prompt>;
  /** The negative-view prompt of a model with a crop slot (teacher pre-training with negatives). */
  readonly negativeFor: (sample: QuestionSample) => Promise<Prompt>;
} {
  const withCrop = config.images.some((slot) => slot.role === 'crop');
  const factory = new PromptFactory(config, withCrop ? config : undefined, {
    negative: 'outside-downsampled',
    factor: 2,
    padding,
    seed: deriveSeed(seed, 'views'),
    encode: false,
  });
  return {
    withCrop,
    promptFor: (s) => (withCrop ? factory.teacherPositive(s) : factory.student(s)),
    negativeFor: (s) => {
      if (!withCrop)
        throw new InvalidInputError('role', 'student', 'only a model with a crop slot has a negative view');
      return factory.teacherNegative(s);
    },
  };
}
