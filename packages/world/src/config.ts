// The world's settings: plain typed defaults, overrides checked key by key (a typo is an error
// naming the key), then range checks naming the field.
import { InvalidInputError, assertInRange, assertPositiveInteger, resolveConfig } from '@vzero/core';
import { SHAPES, isColour, type Colour, type Shape } from './vocabulary.js';

/** Dataset splits. `test-counter-prior` violates the world's priors on purpose. */
export const SPLITS = ['train', 'val', 'test', 'test-counter-prior'] as const;
export type Split = (typeof SPLITS)[number];

export function isSplit(value: unknown): value is Split {
  return typeof value === 'string' && (SPLITS as readonly string[]).includes(value);
}

/** Scene and statistics settings of the world. */
export interface WorldConfig {
  /** Canvas width in pixels (V*-like sizes such as 2246 work, generation is just slower). */
  readonly width: number;
  readonly height: number;
  /** Distractor count per image, drawn uniformly from [distractorsMin, distractorsMax]. */
  readonly distractorsMin: number;
  readonly distractorsMax: number;
  /** Side of a target's square box in pixels, uniform in [targetSizeMin, targetSizeMax]. */
  readonly targetSizeMin: number;
  readonly targetSizeMax: number;
  /** Side of a distractor's box in pixels. */
  readonly distractorSizeMin: number;
  readonly distractorSizeMax: number;
  /** Fraction of spatial (two-object) questions; the rest are attribute (colour) questions. */
  readonly spatialFraction: number;
  /**
   * Colour prior: probability that an object has its shape's usual colour (train, val, test).
   * In test-counter-prior the target never has its usual colour.
   */
  readonly priorStrength: number;
  /**
   * Spatial prior: probability that the object asked about lies left of the reference object
   * (train, val, test). In test-counter-prior it always lies right.
   */
  readonly leftPriorStrength: number;
  /** The usual colour of each shape (the colour prior). */
  readonly usualColour: Readonly<Record<Shape, Colour>>;
  /** Minimum free pixels between any two objects. */
  readonly gap: number;
  /**
   * Largest free horizontal space between the two objects of a spatial question, in pixels;
   * 0 = anywhere on the canvas. A close pair keeps their union box (the positive crop) small,
   * so the crop shows both objects large enough to read the relation; a pair spread over the
   * canvas makes the crop little more than the full image.
   */
  readonly pairGapMax: number;
  /**
   * Smallest free horizontal space between the two objects of a spatial question, in pixels;
   * 0 = the old rule, max(targetSizeMax, gap). A smaller gap (with pairRiseMax) keeps the pair's
   * union box, and so the positive crop, well inside the canvas.
   */
  readonly pairGapMin: number;
  /**
   * Largest vertical offset between the top edges of a spatial pair, in pixels; 0 = anywhere.
   * Two objects at unrelated heights make the union box (the crop) nearly as tall as the canvas.
   */
  readonly pairRiseMax: number;
  /**
   * Spatial questions name each object's colour with its shape ("is the red triangle on the left
   * or right of the blue circle ?"; the two colours always differ), so the pair can be found by
   * colour as well as by shape. No distractor then has either named colour, so each word of the
   * question picks out one object.
   */
  readonly spatialColours: boolean;
}

export const DEFAULT_WORLD_CONFIG: WorldConfig = Object.freeze({
  width: 512,
  height: 384,
  distractorsMin: 24,
  distractorsMax: 40,
  targetSizeMin: 12,
  targetSizeMax: 18,
  distractorSizeMin: 8,
  distractorSizeMax: 28,
  spatialFraction: 0.3,
  priorStrength: 0.8,
  leftPriorStrength: 0.75,
  usualColour: Object.freeze({
    circle: 'blue',
    square: 'green',
    triangle: 'red',
    star: 'yellow',
    diamond: 'purple',
    hexagon: 'orange',
  }),
  gap: 2,
  pairGapMax: 0,
  pairGapMin: 0,
  pairRiseMax: 0,
  spatialColours: false,
});

/** Merges overrides into the defaults and validates every field. */
export function resolveWorldConfig(overrides?: Partial<WorldConfig>): WorldConfig {
  const c = resolveConfig(DEFAULT_WORLD_CONFIG, overrides, 'world');
  assertPositiveInteger('world.width', c.width);
  assertPositiveInteger('world.height', c.height);
  for (const key of [
    'distractorsMin',
    'distractorsMax',
    'gap',
    'pairGapMax',
    'pairGapMin',
    'pairRiseMax',
  ] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0) {
      throw new InvalidInputError(`world.${key}`, c[key], 'expected an integer >= 0');
    }
  }
  if (c.distractorsMax < c.distractorsMin) {
    throw new InvalidInputError(
      'world.distractorsMax',
      c.distractorsMax,
      `must be >= distractorsMin (${c.distractorsMin})`,
    );
  }
  for (const key of ['targetSizeMin', 'targetSizeMax', 'distractorSizeMin', 'distractorSizeMax'] as const) {
    assertPositiveInteger(`world.${key}`, c[key]);
    if (c[key] < 4) throw new InvalidInputError(`world.${key}`, c[key], 'objects need at least 4 pixels');
  }
  if (c.targetSizeMax < c.targetSizeMin) {
    throw new InvalidInputError(
      'world.targetSizeMax',
      c.targetSizeMax,
      `must be >= targetSizeMin (${c.targetSizeMin})`,
    );
  }
  if (c.distractorSizeMax < c.distractorSizeMin) {
    throw new InvalidInputError(
      'world.distractorSizeMax',
      c.distractorSizeMax,
      `must be >= distractorSizeMin (${c.distractorSizeMin})`,
    );
  }
  const largest = Math.max(c.targetSizeMax, c.distractorSizeMax);
  // Spatial questions need two targets side by side with room between them.
  if (c.width < 4 * c.targetSizeMax + 3 * c.gap || c.height < largest + 2 * c.gap) {
    throw new InvalidInputError(
      'world.width',
      c.width,
      `canvas ${c.width}x${c.height} too small for the object sizes`,
    );
  }
  if (c.pairGapMin === 0 && c.pairGapMax > 0 && c.pairGapMax < Math.max(c.targetSizeMax, c.gap)) {
    throw new InvalidInputError(
      'world.pairGapMax',
      c.pairGapMax,
      `must be 0 (anywhere) or >= the pair's minimum separation max(targetSizeMax, gap) = ${Math.max(c.targetSizeMax, c.gap)} (or set pairGapMin)`,
    );
  }
  if (c.pairGapMin > 0 && c.pairGapMin < Math.max(c.gap, 1)) {
    throw new InvalidInputError(
      'world.pairGapMin',
      c.pairGapMin,
      `must be 0 (the default separation) or >= gap (${c.gap}) and >= 1`,
    );
  }
  if (c.pairGapMin > 0 && c.pairGapMax > 0 && c.pairGapMax < c.pairGapMin) {
    throw new InvalidInputError('world.pairGapMax', c.pairGapMax, `must be >= pairGapMin (${c.pairGapMin})`);
  }
  if (typeof c.spatialColours !== 'boolean') {
    throw new InvalidInputError('world.spatialColours', c.spatialColours, 'expected true or false');
  }
  assertInRange('world.spatialFraction', c.spatialFraction, 0, 1);
  assertInRange('world.priorStrength', c.priorStrength, 0, 1);
  assertInRange('world.leftPriorStrength', c.leftPriorStrength, 0, 1);
  const usual: unknown = c.usualColour;
  if (usual === null || typeof usual !== 'object' || Array.isArray(usual)) {
    throw new InvalidInputError('world.usualColour', usual, 'expected an object shape -> colour');
  }
  for (const key of Object.keys(usual)) {
    if (!(SHAPES as readonly string[]).includes(key)) {
      throw new InvalidInputError(
        `world.usualColour.${key}`,
        key,
        `unknown shape; known: ${SHAPES.join(', ')}`,
      );
    }
  }
  const merged: Record<string, Colour> = { ...DEFAULT_WORLD_CONFIG.usualColour };
  for (const [shape, colour] of Object.entries(usual as Record<string, unknown>)) {
    if (!isColour(colour))
      throw new InvalidInputError(`world.usualColour.${shape}`, colour, 'unknown colour');
    merged[shape] = colour;
  }
  return { ...c, usualColour: merged as Record<Shape, Colour> };
}
