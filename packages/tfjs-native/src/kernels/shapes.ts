// Shape arithmetic for the native kernels, kept free of tfjs so it is easy to test.

export interface MatmulPlan {
  readonly outShape: number[];
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly aBatches: number;
  readonly bBatches: number;
  /** For each output matrix, the index of the a (b) matrix it multiplies. */
  readonly aIndex: Int32Array;
  readonly bIndex: Int32Array;
}

/**
 * Plans a batched matmul with numpy-style broadcasting of all leading dims (tfjs cpu's own kernel
 * pairs batches by `i % batchA`, which is wrong for shapes like [2,1,5,7] x [1,3,7,4]).
 * Returns undefined for shapes it does not handle (rank < 2, inner-dim or broadcast mismatch) so
 * the caller can let the original kernel raise its usual error.
 */
export function planMatmul(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): MatmulPlan | undefined {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const kA = transposeA ? aShape[ra - 2]! : aShape[ra - 1]!;
  const kB = transposeB ? bShape[rb - 1]! : bShape[rb - 2]!;
  const n = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  if (kA !== kB) return undefined;
  const outerA = aShape.slice(0, ra - 2);
  const outerB = bShape.slice(0, rb - 2);
  const rank = Math.max(outerA.length, outerB.length);
  const outer: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = outerA[i - (rank - outerA.length)] ?? 1;
    const db = outerB[i - (rank - outerB.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    outer.push(da === 1 ? db : da);
  }
  const batch = outer.reduce((p, d) => p * d, 1);
  const aIndex = new Int32Array(batch);
  const bIndex = new Int32Array(batch);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < batch; i++) {
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < rank; d++) {
      const da = outerA[d - (rank - outerA.length)] ?? 1;
      const db = outerB[d - (rank - outerB.length)] ?? 1;
      ai = ai * da + (da === 1 ? 0 : idx[d]!);
      bi = bi * db + (db === 1 ? 0 : idx[d]!);
    }
    aIndex[i] = ai;
    bIndex[i] = bi;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = idx[d]! + 1;
      if (idx[d]! < outer[d]!) break;
      idx[d] = 0;
    }
  }
  const aBatches = outerA.reduce((p, d) => p * d, 1);
  const bBatches = outerB.reduce((p, d) => p * d, 1);
  return { outShape: [...outer, m, n], batch, m, n, k: kA, aBatches, bBatches, aIndex, bIndex };
}

/**
 * Whether an operand (bias, prelu weights) broadcast onto an output of shape outShape is a
 * scalar or a vector along the last axis: the two forms the native epilogue applies. Anything
 * else (per-row bias, or a shape that would enlarge the output) goes to the original kernel.
 */
export function rowBroadcastable(shape: readonly number[], outShape: readonly number[]): boolean {
  if (shape.length > outShape.length) return false;
  const n = outShape[outShape.length - 1] ?? 1;
  const lead = shape.slice(0, -1);
  if (!lead.every((d) => d === 1)) return false;
  const last = shape[shape.length - 1] ?? 1;
  return last === 1 || last === n;
}

/** A tensor seen as [outer, dim, inner] around one axis (already non-negative). */
export interface AxisPlan {
  readonly outer: number;
  readonly dim: number;
  readonly inner: number;
}

export function planAxis(shape: readonly number[], axis: number): AxisPlan {
  const prod = (xs: readonly number[]) => xs.reduce((p, d) => p * d, 1);
  return { outer: prod(shape.slice(0, axis)), dim: shape[axis] ?? 1, inner: prod(shape.slice(axis + 1)) };
}

/** GatherV2 with batchDims 0: x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
export function planGather(
  xShape: readonly number[],
  indicesShape: readonly number[],
  axis: number,
): AxisPlan & { readonly outShape: number[] } {
  return {
    ...planAxis(xShape, axis),
    outShape: [...xShape.slice(0, axis), ...indicesShape, ...xShape.slice(axis + 1)],
  };
}

/** The output shape of a reduction over `axes` and the per-axis flags the native side takes. */
export function planReduce(
  shape: readonly number[],
  axes: readonly number[],
  keepDims: boolean,
): { readonly outShape: number[]; readonly reduced: Int32Array } {
  const reduced = Int32Array.from(shape, (_, i) => (axes.includes(i) ? 1 : 0));
  const outShape = keepDims ? shape.map((d, i) => (reduced[i] ? 1 : d)) : shape.filter((_, i) => !reduced[i]);
  return { outShape, reduced };
}

/**
 * Concatenation along `axis`: undefined unless every shape has the same rank and agrees off the
 * axis (the original kernel then raises its usual error).
 */
export function planConcat(
  shapes: readonly (readonly number[])[],
  axis: number,
): (AxisPlan & { readonly outShape: number[]; readonly sizes: Int32Array }) | undefined {
  const first = shapes[0];
  if (!first) return undefined;
  for (const s of shapes) {
    if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) return undefined;
  }
  const sizes = Int32Array.from(shapes, (s) => s[axis] ?? 1);
  const dim = sizes.reduce((p, d) => p + d, 0);
  const outShape = first.map((d, i) => (i === axis ? dim : d));
  return { ...planAxis(outShape, axis), outShape, sizes };
}

export interface AttentionPlan {
  readonly B: number;
  readonly H: number;
  readonly Tq: number;
  readonly Tk: number;
  readonly dh: number;
}

/**
 * The attention kernels' sizes from q [B, Tq, H * dh] and k, v [B, H, Tk, dh]; undefined unless
 * the shapes agree with each other and with `heads` and none is empty.
 */
export function planAttention(
  qShape: readonly number[],
  kShape: readonly number[],
  vShape: readonly number[],
  heads: number,
): AttentionPlan | undefined {
  if (qShape.length !== 3 || kShape.length !== 4 || vShape.length !== 4) return undefined;
  const [B, Tq, d] = qShape as [number, number, number];
  const [kB, H, Tk, dh] = kShape as [number, number, number, number];
  if (H !== heads || H * dh !== d || kB !== B || kShape.some((n, i) => n !== vShape[i])) return undefined;
  if (B === 0 || Tq === 0 || Tk === 0 || dh === 0) return undefined;
  return { B, H, Tq, Tk, dh };
}
