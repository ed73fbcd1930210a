// Views-per-second on large images: `npx tsx packages/views/bench/views.bench.ts`.
// Images are generated with sharp (textured noise, JPEG quality 90) at 4000x3000 and at the
// V* Bench size 2246x1582. One "sample" = full view + positive crop + negative view.
import { cpus } from 'node:os';
import sharp from 'sharp';
import { ViewCache, buildViews, loadImage } from '../src/index.js';
import type { NegativeViewMode, SampleViews, ViewSpec } from '../src/index.js';

const SIZES = [
  { name: '4000x3000', width: 4000, height: 3000 },
  { name: 'V* 2246x1582', width: 2246, height: 1582 },
];
const ITER = Number(process.env.BENCH_ITER ?? 8);
// libvips threads per operation (sharp's default is 1 on glibc Linux without jemalloc).
if (process.env.BENCH_VIPS_THREADS) sharp.concurrency(Number(process.env.BENCH_VIPS_THREADS));

async function makeJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function time(
  label: string,
  n: number,
  fn: (i: number) => Promise<unknown>,
  samplesPerCall = 1,
): Promise<void> {
  await fn(0); // warm-up
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) await fn(i);
  const ms = (performance.now() - t0) / (n * samplesPerCall);
  console.log(
    `  ${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms/sample  ${(1000 / ms).toFixed(2).padStart(7)} samples/s`,
  );
}

async function main(): Promise<void> {
  console.log(
    `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); node ${process.version}`,
  );
  console.log(`libvips threads: ${sharp.concurrency()}; ${ITER} timed samples per line after one warm-up`);
  for (const { name, width, height } of SIZES) {
    const jpeg = await makeJpeg(width, height);
    console.log(`\n${name} JPEG (${(jpeg.length / 1e6).toFixed(1)} MB)`);
    const box = (i: number) => {
      const x = 200 + ((i * 137) % (width - 600));
      const y = 150 + ((i * 91) % (height - 450));
      return [x, y, x + 120, y + 80] as const;
    };
    const spec: Partial<ViewSpec> = { size: 448, cropSize: 224, seed: 1 };
    await time('decode only (loadImage)', ITER, () => loadImage(jpeg));
    await time('buildViews from bytes (decode + 3 views), outside-downsampled', ITER, (i) =>
      buildViews(jpeg, box(i), spec),
    );
    await time('  same + PNG encoding of the 3 views', ITER, async (i) => {
      const v = await buildViews(jpeg, box(i), spec);
      await Promise.all([v.full.png(), v.positive.png(), v.negative.ok ? v.negative.png() : undefined]);
    });
    await time(
      '  2 samples in flight (throughput per sample)',
      ITER,
      async (i) => {
        await Promise.all([buildViews(jpeg, box(2 * i), spec), buildViews(jpeg, box(2 * i + 1), spec)]);
      },
      2,
    );
    const decoded = await loadImage(jpeg);
    const modes: NegativeViewMode[] = [
      'outside-downsampled',
      'downsample-crop',
      'random-crop',
      'blank',
      'noise',
    ];
    for (const negative of modes) {
      await time(`buildViews from a decoded image, ${negative}`, ITER * 2, (i) =>
        buildViews(decoded, box(i), { ...spec, negative }),
      );
    }
    await time('  positive + negative only (size 16 full view), outside-downsampled', ITER * 2, (i) =>
      buildViews(decoded, box(i), { ...spec, size: 16 }),
    );
    const cache = new ViewCache<SampleViews>({ maxEntries: 8 });
    await buildViews(jpeg, box(0), spec, { cache });
    await time('cache hit (same bytes, box and spec; hashes the bytes)', ITER * 4, () =>
      buildViews(jpeg, box(0), spec, { cache }),
    );
  }
}

await main();
