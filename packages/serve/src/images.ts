// Images arrive as base64 data URLs; they are decoded with sharp (through @vzero/views) into the
// same 8-bit RGB -> [0, 1] pixels a local prompt holds, so a PNG sent by a remote client gives the
// model bit-identical input. The server never fetches http(s) URLs.
//
// Decoding is bounded before it starts. The format and the size are read from the file's own
// header here, in a few lines of JavaScript (no decoder runs on untrusted bytes for that): PNG,
// JPEG, GIF and WebP are accepted, SVG only when the server allows it (a 1 kB SVG can ask for a
// blur that renders for ever, so it is rendered in a child process that is killed at the time
// limit), anything else is a 415. An image over the pixel limit is a 413 without being decoded;
// the pixels a request will hold are reserved against the server's budget before decoding (a
// 503 when it is spent), and decoding has a time limit.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PromptImage, ImageRole } from '@vzero/core';
import { InvalidInputError } from '@vzero/core';
import { loadImage, makeView, toPromptImage } from '@vzero/views';
import { HttpError } from './errors.js';

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes of a base64 image data URL; a 400 naming `field` for anything else. */
export function dataUrlBytes(url: string, field: string): Uint8Array {
  const head = DATA_URL.exec(url);
  if (!head) {
    const scheme = /^[a-z]+:/i.exec(url)?.[0] ?? 'no scheme';
    throw new HttpError(
      400,
      field,
      `expected a base64 image data URL (data:image/png;base64,...), got ${scheme}: this server fetches nothing`,
    );
  }
  const payload = url.slice(head[0].length);
  if (payload.length === 0 || !BASE64.test(payload)) {
    throw new HttpError(400, field, 'invalid base64 in the data URL');
  }
  const buf = Buffer.from(payload, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'svg';

/** An image's format and size as its header states them, or undefined when it is none we take. */
export function imageHeader(
  b: Uint8Array,
): { readonly format: ImageFormat; readonly width: number; readonly height: number } | undefined {
  const u16be = (i: number) => ((b[i] as number) << 8) | (b[i + 1] as number);
  const u16le = (i: number) => (b[i] as number) | ((b[i + 1] as number) << 8);
  const u24le = (i: number) => u16le(i) | ((b[i + 2] as number) << 16);
  const u32be = (i: number) => ((b[i] as number) * 2 ** 24 + (u16be(i + 1) << 8)) | (b[i + 3] as number);
  const ascii = (i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === 'PNG' && ascii(12, 4) === 'IHDR')
    return { format: 'png', width: u32be(16) >>> 0, height: u32be(20) >>> 0 };
  if (b.length >= 10 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a'))
    return { format: 'gif', width: u16le(6), height: u16le(8) };
  if (b.length >= 30 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') {
    const chunk = ascii(12, 4);
    if (chunk === 'VP8 ') return { format: 'webp', width: u16le(26) & 0x3fff, height: u16le(28) & 0x3fff };
    if (chunk === 'VP8L') {
      const bits =
        (b[21] as number) | ((b[22] as number) << 8) | ((b[23] as number) << 16) | ((b[24] as number) << 24);
      return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X') return { format: 'webp', width: u24le(24) + 1, height: u24le(27) + 1 };
    return undefined;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // JPEG: walk the markers to the frame header (SOF0-SOF15 but DHT, JPG and DAC).
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined;
      const marker = b[i + 1] as number;
      if (marker === 0xff) {
        i++;
        continue;
      }
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        i += 2;
        continue;
      }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { format: 'jpeg', width: u16be(i + 7), height: u16be(i + 5) };
      i += 2 + u16be(i + 2);
    }
    return undefined;
  }
  const head = Buffer.from(b.subarray(0, 512))
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (
    /^<(\?xml|svg|!DOCTYPE svg|!--)/i.test(head) &&
    /<svg[\s>]/i.test(Buffer.from(b.subarray(0, 4096)).toString('utf8'))
  )
    return { format: 'svg', width: 0, height: 0 };
  return undefined;
}

export interface ImageLimits {
  /** Largest decoded image, width x height. */
  readonly maxPixels: number;
  /** Milliseconds one image may take to decode. */
  readonly timeoutMs: number;
  /** Whether SVG is accepted (rendered in a child process under the time limit). */
  readonly allowSvg: boolean;
}

/** Reserves decoded pixels against the server's budget; returns the release, or throws a 503. */
export type PixelBudget = (pixels: number, field: string) => () => void;

/**
 * Decodes a data URL into a prompt image (pixels + content id). Format, size and budget errors
 * are 415, 413 and 503 naming `field`; a decode past the time limit is a 503.
 */
export async function decodeImage(
  url: string,
  role: ImageRole,
  limits: ImageLimits,
  field: string,
  reserve: PixelBudget = () => () => {},
): Promise<PromptImage> {
  const bytes = dataUrlBytes(url, field);
  const header = imageHeader(bytes);
  if (header?.format === 'svg') {
    if (!limits.allowSvg) {
      throw new HttpError(
        415,
        field,
        'SVG images are not accepted by this server (start it with --allow-svg to render them, under the time limit)',
        'unsupported_media_type',
      );
    }
    // Its size is known only once rendered: the whole pixel limit is reserved meanwhile.
    const release = reserve(limits.maxPixels, field);
    try {
      const { width, height, rgb } = await renderSvg(bytes, limits, field);
      return await toPromptImage(makeView(rgb, width, height), role, 'pixels');
    } finally {
      release();
    }
  }
  if (!header) {
    throw new HttpError(
      400,
      field,
      'not a PNG, JPEG, GIF or WebP image (or its header is damaged or cut short)',
    );
  }
  const pixels = header.width * header.height;
  if (!(pixels > 0))
    throw new HttpError(400, field, `the image header gives ${header.width}x${header.height}`);
  if (pixels > limits.maxPixels) {
    throw new HttpError(
      413,
      field,
      `${header.width}x${header.height} = ${pixels} pixels exceeds the pixel limit of ${limits.maxPixels}`,
    );
  }
  const release = reserve(pixels, field);
  const decoding = (async () => {
    const decoded = await loadImage(bytes, { maxPixels: limits.maxPixels });
    return toPromptImage(makeView(decoded.rgb, decoded.width, decoded.height), role, 'pixels');
  })();
  // The reservation lasts as long as the decode does, even one that outlives its request.
  void decoding.then(release, release);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      decoding,
      new Promise<never>((_, fail) => {
        timer = setTimeout(
          () =>
            fail(
              new HttpError(
                503,
                field,
                `decoding the image took longer than ${limits.timeoutMs} ms`,
                'server_busy',
              ),
            ),
          limits.timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    if (error instanceof InvalidInputError) {
      const tooLarge = /pixel limit/.test(error.message);
      throw new HttpError(tooLarge ? 413 : 400, field, error.message.replace(/^image = [^:]*: /, ''));
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** SVG renderers running now (killed when the server closes: a stuck one would outlive it). */
const renderers = new Set<ReturnType<typeof spawn>>();

/** Kills every SVG renderer still running (their requests fail with a 503). */
export function stopRenderers(): void {
  for (const child of renderers) child.kill('SIGKILL');
}

/** Where the SVG renderer's script is (svg-render.ts beside this file, or its build). */
const RENDERER = fileURLToPath(
  new URL(`./svg-render${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

/**
 * Renders an SVG in a child process (svg-render.ts) killed at the time limit: a renderer stuck
 * in one native call cannot be stopped any other way. The child writes "width height\n" and
 * the raw 8-bit RGB pixels.
 */
function renderSvg(
  svg: Uint8Array,
  limits: ImageLimits,
  field: string,
): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  return new Promise((ok, fail) => {
    // From the sources (tests, `pnpm vzero`) the script is TypeScript, run through tsx.
    const script = RENDERER.endsWith('.ts') ? ['--import', 'tsx', RENDERER] : [RENDERER];
    const child = spawn(process.execPath, [...script, String(limits.maxPixels)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    renderers.add(child);
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(
        new HttpError(503, field, `rendering the SVG took longer than ${limits.timeoutMs} ms`, 'server_busy'),
      );
    }, limits.timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      renderers.delete(child);
      fail(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      renderers.delete(child);
      if (signal === 'SIGKILL') {
        fail(
          new HttpError(
            503,
            field,
            'the SVG renderer was stopped (the server is closing, or the time limit passed)',
            'server_busy',
          ),
        );
        return;
      }
      const all = Buffer.concat(out);
      const nl = all.indexOf(10);
      const [width, height] = all.subarray(0, Math.max(0, nl)).toString().split(' ').map(Number);
      if (code === 0 && width && height && all.length - nl - 1 === width * height * 3) {
        ok({ width, height, rgb: new Uint8Array(all.subarray(nl + 1)) });
        return;
      }
      const reason = err.trim().split('\n').at(-1) ?? '';
      const tooLarge = /pixel limit/.test(reason);
      fail(new HttpError(tooLarge ? 413 : 400, field, `not a renderable SVG (${reason || `exit ${code}`})`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(Buffer.from(svg));
  });
}
