// The SVG renderer of images.ts, run as its own process so that the server can kill it at its
// time limit: reads an SVG on stdin, writes "width height\n" and the raw 8-bit RGB pixels (the
// same decoding as every other image, through @vzero/views), under the pixel limit given as the
// first argument. Any failure is one line on stderr and exit code 1.
import { loadImage } from '@vzero/views';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
try {
  const decoded = await loadImage(new Uint8Array(Buffer.concat(chunks)), {
    maxPixels: Number(process.argv[2]),
  });
  process.stdout.write(`${decoded.width} ${decoded.height}\n`);
  process.stdout.write(decoded.rgb);
} catch (error) {
  process.stderr.write(`${(error as Error).message.split('\n')[0] ?? 'error'}\n`);
  process.exitCode = 1;
}
