// The matrix shapes our models actually multiply, for the ceiling comparison: the reference
// transformer's projections and attention, and the V-Zero student's update and the teacher's
// scoring at the default sizes (rows = batch x sequence; attention per batch x head).
import type { SizeName } from './options.js';

export interface MatmulShape {
  readonly label: string;
  readonly model: string;
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transB: boolean;
}

function shape(model: string, batch: number, m: number, k: number, n: number, transB = false): MatmulShape {
  const label = `${batch > 1 ? `${batch}x` : ''}[${m}x${k}]x[${k}x${n}]${transB ? 'T' : ''}`;
  return { label, model, batch, m, k, n, transB };
}

export function matmulShapes(size: SizeName): MatmulShape[] {
  if (size === 'quick') return [shape('reference qkv', 1, 512, 128, 384)];
  return [
    shape('reference qkv', 1, 6144, 128, 384),
    shape('reference mlp up', 1, 6144, 128, 512),
    shape('reference mlp down', 1, 6144, 512, 128),
    shape('reference attention scores', 256, 96, 32, 96, true),
    shape('reference attention values', 256, 96, 96, 32),
    // Student update: 32 rollouts per mini-batch x (64 image + 64 text) tokens, width 64, MLP 128.
    shape('student qkv', 1, 4096, 64, 192),
    shape('student mlp down', 1, 4096, 128, 64),
    shape('student attention scores', 128, 128, 16, 128, true),
    // Teacher scoring: 16 rows (prefix shared) x (80 image + 64 text) tokens, width 96, MLP 192.
    shape('teacher mlp up', 1, 2304, 96, 192),
  ];
}

/** n x n x n, the usual BLAS headline figure. */
export const SQUARE_1024 = shape('square', 1, 1024, 1024, 1024);
