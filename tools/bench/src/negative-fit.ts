// How often the paper's negative view (a region of the positive crop's size in the image
// downsampled 2x, not intersecting the target box) can be made on a world, by crop padding.
// Geometry only: scenes are sampled, not rendered, and the views package's own cropRegion and
// sampleOutsideRegion decide. Usage:
//   pnpm tsx tools/bench/src/negative-fit.ts [preset (paper-table)] [n (2000)] [world seed (0)]
import { Rng, deriveSeed } from '@vzero/core';
import { ablatePreset } from '@vzero/train';
import { cropRegion, sampleOutsideRegion, unionBox } from '@vzero/views';
import { resolveWorldConfig, sceneFor } from '@vzero/world';

const [name = 'paper-table', nArg = '2000', seedArg = '0'] = process.argv.slice(2);
const n = Number(nArg);
const seed = Number(seedArg);
const { config } = ablatePreset(name).world;
const world = resolveWorldConfig(config);
const image = { width: world.width, height: world.height };
const paddings = [0.5, 0.25, 0.1, 0.05, 0];
console.log(
  `${name}: ${world.width}x${world.height} canvas, targets ${world.targetSizeMin}-${world.targetSizeMax} px, ` +
    `${n} train scenes of world seed ${seed}, square crops, factor 2`,
);
console.log('| crop padding | outside-downsampled possible | outside-crop (full resolution) possible |');
console.log('|---|---|---|');
for (const padding of paddings) {
  let down = 0;
  let full = 0;
  for (let i = 0; i < n; i++) {
    const scene = sceneFor(seed, 'train', i, world);
    const box = unionBox(scene.boxes);
    const crop = cropRegion(box, image, { padding, minSize: 8, square: true, clamp: 'shift' });
    const size = { width: crop.x1 - crop.x0, height: crop.y1 - crop.y0 };
    const rng = new Rng(deriveSeed(seed, `fit:${i}`));
    if (sampleOutsideRegion(image, box, size, 2, 0, rng).ok) down++;
    else if (sampleOutsideRegion(image, box, size, 1, 0, rng).ok) full++;
  }
  const pct = (k: number) => `${((100 * k) / n).toFixed(1)}%`;
  console.log(`| ${padding} | ${pct(down)} | ${pct(down + full)} |`);
}
