// A seeded random stream that is identical on every machine and backend: 32-bit integer
// arithmetic only (xoshiro128**, seeded through splitmix32), no Math.random anywhere.

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z = z ^ (z >>> 16);
  return [state, z >>> 0];
}

/** FNV-1a hash of a string to 32 bits; used to derive child seeds from labels. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The state of an Rng, serialisable to JSON for checkpoints and `--resume`. */
export type RngState = readonly [number, number, number, number];

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** The seed this stream was created from (for logs and derived streams). */
  readonly seed: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    this.seed = Math.floor(seed) >>> 0;
    let st = this.seed;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(st);
      st = next;
      words.push(out);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi) (hi exclusive). Rejection sampling: no modulo bias. */
  int(lo: number, hi: number): number {
    const span = hi - lo;
    if (!(span > 0) || !Number.isInteger(lo) || !Number.isInteger(hi) || span > 4294967296) {
      throw new RangeError(`Rng.int needs integers lo < hi, got [${lo}, ${hi})`);
    }
    const limit = Math.floor(4294967296 / span) * span;
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return lo + (x % span);
  }

  /** Standard normal via Box-Muller (one value per call, the pair's second value is dropped). */
  normal(): number {
    let u = this.float();
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick on an empty list');
    return items[this.int(0, items.length)] as T;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** An independent stream derived from this stream's seed and a label; does not advance this one. */
  child(label: string | number): Rng {
    return new Rng(deriveSeed(this.seed, label));
  }

  getState(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  setState(state: RngState): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w))) {
      throw new RangeError(`Rng state must be four 32-bit integers, got ${JSON.stringify(state)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w | 0) as [number, number, number, number];
  }
}

/** A child seed from a parent seed and a label: stable across machines and runs. */
export function deriveSeed(seed: number, label: string | number): number {
  const [, out] = splitmix32((seed >>> 0) ^ hashString(String(label)));
  return out;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
