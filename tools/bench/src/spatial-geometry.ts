// The positive crop of spatial questions by pair geometry: how much of the canvas the crop covers,
// how large an object appears in the teacher's crop slot, and how often a distractor shares a
// named colour. Pure geometry of the world's scenes and the training app's crop rule (padding 0,
// square, shifted inside the image); nothing is trained. docs/results/spatial.md quotes it.
//   pnpm exec tsx tools/bench/src/spatial-geometry.ts [SCENES=2000] [WORLD-SEED=11]
import { cropRegion } from '@vzero/views';
import { resolveWorldConfig, sceneFor, type WorldConfig } from '@vzero/world';

const scenes = Number(process.argv[2] ?? '2000');
const seed = Number(process.argv[3] ?? '11');
const paper: Partial<WorldConfig> = {
  width: 256,
  height: 192,
  targetSizeMin: 40,
  targetSizeMax: 56,
  distractorSizeMin: 24,
  distractorSizeMax: 56,
  distractorsMin: 3,
  distractorsMax: 6,
  pairGapMax: 56,
  spatialColours: true,
  spatialFraction: 1,
};
const compact = { pairGapMin: 12, pairGapMax: 24, pairRiseMax: 16 };
const geometries: [string, Partial<WorldConfig>][] = [
  ['paper-table pair', paper],
  ['compact pair', { ...paper, ...compact }],
  ['compact pair, colours not named', { ...paper, ...compact, spatialColours: false }],
];
for (const [name, overrides] of geometries) {
  const config = resolveWorldConfig(overrides);
  let share = 0;
  let side = 0;
  let sharedColour = 0;
  for (let i = 0; i < scenes; i++) {
    const scene = sceneFor(seed, 'train', i, config);
    const xs = scene.boxes.flatMap((b) => [b.x0, b.x1]);
    const ys = scene.boxes.flatMap((b) => [b.y0, b.y1]);
    const union = { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
    const crop = cropRegion(union, config, { padding: 0, minSize: 8, square: true, clamp: 'shift' });
    const w = crop.x1 - crop.x0;
    const h = crop.y1 - crop.y0;
    share += (w * h) / (config.width * config.height);
    side += Math.max(w, h);
    const named = new Set(scene.objects.filter((o) => o.role === 'target').map((o) => o.colour));
    if (scene.objects.some((o) => o.role === 'distractor' && named.has(o.colour))) sharedColour++;
  }
  const meanSide = side / scenes;
  console.log(
    `${name}: crop side ${meanSide.toFixed(1)} px, ${((100 * share) / scenes).toFixed(1)}% of the canvas; ` +
      `a 48 px object is ${((48 * 32) / meanSide).toFixed(1)} px in a 32 px crop slot, ` +
      `${((48 * 32) / config.width).toFixed(1)} px in a 32 px full-image slot; ` +
      `a distractor shares a target's colour in ${((100 * sharedColour) / scenes).toFixed(1)}% of scenes`,
  );
}
