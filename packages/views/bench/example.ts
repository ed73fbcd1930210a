// The README example: `npx tsx packages/views/bench/example.ts` (from the workspace root).
import sharp from 'sharp';
import { ViewCache, buildViews, pixelsToTensor, toPixelBox } from '@vzero/views';
import type { SampleViews } from '@vzero/views';
import { selectBackend } from '@vzero/core';

// A 1200x800 grey image with a red sign at [700, 300, 760, 340].
const image = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#777' } })
  .composite([
    { input: { create: { width: 60, height: 40, channels: 3, background: '#f00' } }, left: 700, top: 300 },
  ])
  .png()
  .toBuffer();

const cache = new ViewCache<SampleViews>({ maxEntries: 1024 });
const views = await buildViews(
  image,
  { x0: 700, y0: 300, x1: 760, y1: 340 },
  { size: 448, cropSize: 224, negative: 'outside-downsampled', factor: 2, seed: 1 },
  { key: 'sample-0001', cache },
);
// Box 60x40, padded 10% per side (6 px, 4 px) to 72x48, height grown to minSize 64:
console.log(views.positiveBox); // { x0: 694, y0: 288, x1: 766, y1: 352 }
if (views.negative.ok) console.log(views.negative.mode, views.negativeBox, views.negative.sampledBox);
else console.log('no negative:', views.negative.reason, views.negative.detail);

const png = await views.positive.png(); // PNG bytes for a remote teacher
await selectBackend({ prefer: 'cpu' });
const t = pixelsToTensor(views.full.pixels); // [448, 448, 3] in [0, 1] for a local student
console.log(png.length > 0, t.shape);
t.dispose();

console.log(toPixelBox([500, 250, 750, 500], 'qwen1000', 1200, 800)); // { x0: 600, y0: 200, x1: 900, y1: 400 }
