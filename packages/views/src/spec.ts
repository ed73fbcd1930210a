// The view specification: every knob of buildViews with its default, checked key by key.
import { InvalidInputError, resolveConfig } from '@vzero/core';
import type { ClampMode, Padding } from './region.js';

/** How the negative view z- is built (see the README for each one's exact construction). */
export const NEGATIVE_VIEW_MODES = [
  'outside-downsampled',
  'outside-crop',
  'downsample-crop',
  'random-crop',
  'blank',
  'noise',
  'random-positive',
] as const;
export type NegativeViewMode = (typeof NEGATIVE_VIEW_MODES)[number];
/** @deprecated Renamed NEGATIVE_VIEW_MODES ("negative" alone also names the view and its scores). */
export const NEGATIVE_MODES = NEGATIVE_VIEW_MODES;
/** @deprecated Renamed NegativeViewMode. */
export type NegativeMode = NegativeViewMode;

/** How an image is fitted into a square model input: stretch, or letterbox with `background`. */
export type FitMode = 'fill' | 'contain';
export const FIT_MODES: readonly FitMode[] = ['fill', 'contain'];

/** sharp resampling kernels offered for resizing. */
export const KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const;
export type Kernel = (typeof KERNELS)[number];

export type Rgb = readonly [number, number, number];

export interface ViewSpec {
  /** Side of the square full (student) view, in pixels. */
  readonly size: number;
  /** Side of the square positive and negative views; 'native' keeps the crop's own size. */
  readonly cropSize: number | 'native';
  /** Padding around the box: fraction of box width/height per side, or {px}. */
  readonly padding: Padding;
  /** Minimum crop width and height in source pixels (capped by the image). */
  readonly minSize: number;
  /** Square crop (as far as the image allows). */
  readonly square: boolean;
  /** How a crop past the border is brought inside: keep size and shift, or clip. */
  readonly clamp: ClampMode;
  /** Negative-view mode. */
  readonly negative: NegativeViewMode;
  /**
   * Mode(s) tried in order when `negative` cannot produce a view (e.g. no region outside the box);
   * none by default. The view reports the mode that made it.
   */
  readonly fallback: NegativeViewMode | 'none' | readonly NegativeViewMode[];
  /** Downsampling factor of 'outside-downsampled' and 'downsample-crop' (>= 1). */
  readonly factor: number;
  /** Extra gap in downsampled pixels between an 'outside-downsampled' region and the box. */
  readonly margin: number;
  /** Base seed; per-sample streams derive from it and the sample key. */
  readonly seed: number;
  /** Resize fit for the square views. */
  readonly fit: FitMode;
  /** Resampling kernel for every resize. */
  readonly kernel: Kernel;
  /** Colour of 'blank' negatives, letterbox bars and flattened alpha (0-255 RGB). */
  readonly background: Rgb;
}

export const DEFAULT_VIEW_SPEC: ViewSpec = {
  size: 224,
  cropSize: 224,
  padding: 0.1,
  minSize: 64,
  square: false,
  clamp: 'shift',
  negative: 'outside-downsampled',
  fallback: 'none',
  factor: 2,
  margin: 0,
  seed: 0,
  fit: 'fill',
  kernel: 'lanczos3',
  background: [128, 128, 128],
};

const WHERE = 'ViewSpec';

/** Fills defaults and checks every value; unknown keys fail with UnknownKeyError. */
export function resolveViewSpec(overrides: Partial<ViewSpec> = {}): ViewSpec {
  // resolveConfig checks the key names; keys whose values may take several types are checked below.
  const loose = {
    ...DEFAULT_VIEW_SPEC,
    cropSize: undefined,
    padding: undefined,
    background: undefined,
    fallback: undefined,
  };
  resolveConfig<Record<string, unknown>>(loose, overrides as Record<string, unknown>, WHERE);
  const s: ViewSpec = { ...DEFAULT_VIEW_SPEC };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) (s as unknown as Record<string, unknown>)[key] = value;
  }
  positiveInt('size', s.size);
  if (s.cropSize !== 'native') positiveInt('cropSize', s.cropSize);
  if (typeof s.padding === 'number') {
    nonNegative('padding', s.padding);
  } else if (s.padding !== null && typeof s.padding === 'object') {
    nonNegative('padding.px', s.padding.px);
  } else {
    throw new InvalidInputError(`${WHERE}.padding`, s.padding, 'expected a fraction or {px}');
  }
  positiveInt('minSize', s.minSize);
  bool('square', s.square);
  oneOf('clamp', s.clamp, ['shift', 'clip']);
  oneOf('negative', s.negative, NEGATIVE_VIEW_MODES);
  if (Array.isArray(s.fallback)) {
    s.fallback.forEach((m, i) => oneOf(`fallback[${i}]`, m, NEGATIVE_VIEW_MODES));
  } else {
    oneOf('fallback', s.fallback, [...NEGATIVE_VIEW_MODES, 'none']);
  }
  if (typeof s.factor !== 'number' || !Number.isFinite(s.factor) || s.factor < 1) {
    throw new InvalidInputError(`${WHERE}.factor`, s.factor, 'expected a finite number >= 1');
  }
  nonNegative('margin', s.margin);
  if (typeof s.seed !== 'number' || !Number.isInteger(s.seed)) {
    throw new InvalidInputError(`${WHERE}.seed`, s.seed, 'expected an integer');
  }
  oneOf('fit', s.fit, FIT_MODES);
  oneOf('kernel', s.kernel, KERNELS);
  if (
    !Array.isArray(s.background) ||
    s.background.length !== 3 ||
    s.background.some((c: unknown) => typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 255)
  ) {
    throw new InvalidInputError(`${WHERE}.background`, s.background, 'expected [r, g, b] integers 0-255');
  }
  return s;
}

function positiveInt(key: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new InvalidInputError(`${WHERE}.${key}`, v, 'expected a positive integer');
  }
}

function nonNegative(key: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidInputError(`${WHERE}.${key}`, v, 'expected a finite number >= 0');
  }
}

function bool(key: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new InvalidInputError(`${WHERE}.${key}`, v, 'expected a boolean');
}

function oneOf(key: string, v: unknown, allowed: readonly string[]): void {
  if (typeof v !== 'string' || !allowed.includes(v)) {
    throw new InvalidInputError(`${WHERE}.${key}`, v, `expected one of ${allowed.join(', ')}`);
  }
}
