// Rendering: scene -> SVG -> sharp -> PNG. librsvg and libpng write no timestamps, so the same
// scene always gives the same bytes.
import sharp from 'sharp';
import type { Box } from '@vzero/core';
import type { Background, Scene, SceneObject } from './scene.js';
import type { Colour, Shape } from './vocabulary.js';

/** The fill of each colour name (sRGB). Saturated and far from the muted background tones. */
export const COLOUR_RGB: Readonly<Record<Colour, readonly [number, number, number]>> = Object.freeze({
  red: [220, 30, 30],
  green: [30, 170, 60],
  blue: [30, 80, 230],
  yellow: [245, 220, 30],
  purple: [150, 50, 200],
  orange: [245, 130, 20],
  white: [250, 250, 250],
  black: [15, 15, 15],
});

const hex = (rgb: readonly number[]): string =>
  `#${rgb
    .map((v) =>
      Math.max(0, Math.min(255, Math.round(v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;

// Unit polygons in [0, 1]^2 (after normalising their bounding box), drawn inside the object's box.
const UNIT_POLYGONS: Partial<Record<Shape, readonly (readonly [number, number])[]>> = {
  triangle: [
    [0.5, 0],
    [1, 1],
    [0, 1],
  ],
  diamond: [
    [0.5, 0],
    [1, 0.5],
    [0.5, 1],
    [0, 0.5],
  ],
  star: normalise(
    Array.from({ length: 10 }, (_, i) => {
      const r = i % 2 === 0 ? 1 : 0.45;
      const a = -Math.PI / 2 + (i * Math.PI) / 5;
      return [r * Math.cos(a), r * Math.sin(a)] as const;
    }),
  ),
  hexagon: normalise(
    Array.from({ length: 6 }, (_, i) => {
      const a = (i * Math.PI) / 3;
      return [Math.cos(a), Math.sin(a)] as const;
    }),
  ),
};

function normalise(points: readonly (readonly [number, number])[]): (readonly [number, number])[] {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return points.map(([x, y]) => [(x - x0) / (x1 - x0), (y - y0) / (y1 - y0)] as const);
}

const fmt = (v: number): string => (Math.round(v * 100) / 100).toString();

function objectSvg(o: SceneObject): string {
  const { x0, y0, x1, y1 } = o.box;
  const w = x1 - x0;
  const h = y1 - y0;
  const fill = hex(COLOUR_RGB[o.colour]);
  switch (o.shape) {
    case 'circle':
      return `<ellipse cx="${fmt(x0 + w / 2)}" cy="${fmt(y0 + h / 2)}" rx="${fmt(w / 2)}" ry="${fmt(h / 2)}" fill="${fill}"/>`;
    case 'square':
      return `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="${fill}"/>`;
    default: {
      const unit = UNIT_POLYGONS[o.shape] ?? [];
      const pts = unit.map(([u, v]) => `${fmt(x0 + u * w)},${fmt(y0 + v * h)}`).join(' ');
      return `<polygon points="${pts}" fill="${fill}"/>`;
    }
  }
}

function backgroundSvg(bg: Background, width: number, height: number): string {
  const parts = [`<rect x="0" y="0" width="${width}" height="${height}" fill="${hex(bg.rgb)}"/>`];
  for (const b of bg.blobs) {
    parts.push(
      `<ellipse cx="${b.cx}" cy="${b.cy}" rx="${b.rx}" ry="${b.ry}" fill="${hex(b.rgb)}" fill-opacity="${b.opacity}"/>`,
    );
  }
  const s = bg.stripeSpacing;
  parts.push(
    `<defs><pattern id="stripes" width="${s}" height="${s}" patternUnits="userSpaceOnUse">` +
      `<path d="M0,${s} L${s},0" stroke="${hex(bg.stripeRgb)}" stroke-width="1" stroke-opacity="0.35"/></pattern></defs>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="url(#stripes)"/>`,
  );
  return parts.join('');
}

/** The scene as an SVG document of exactly width x height pixels. */
export function sceneSvg(scene: Scene): string {
  const { width, height } = scene;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    backgroundSvg(scene.background, width, height) +
    scene.objects.map(objectSvg).join('') +
    '</svg>'
  );
}

/** Renders the scene to PNG bytes (RGB, no alpha). */
export async function renderScenePng(scene: Scene): Promise<Buffer> {
  return sharp(Buffer.from(sceneSvg(scene)), { density: 72 })
    .flatten({ background: hex(scene.background.rgb) })
    .removeAlpha()
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

/** Area of a box in pixels. */
export function boxArea(box: Box): number {
  return (box.x1 - box.x0) * (box.y1 - box.y0);
}
