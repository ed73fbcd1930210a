// AdamW (decoupled weight decay, Loshchilov & Hutter): the one optimizer of the workspace, used by
// pre-training here and, through a thin adapter, by the V-Zero trainer (@vzero/train's AdamW).
// Each variable's update is one adamwUpdate op from @vzero/tfjs-native: a single native kernel
// where registered, the same formula in ten plain tfjs ops otherwise. Moments and the step
// count are exportable so that a resumed run continues bit for bit.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, resolveConfig } from '@vzero/core';
import { adamwUpdate } from '@vzero/tfjs-native';

export interface AdamWOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Decoupled weight decay factor (x -= lr * weightDecay * x before the Adam step). */
  readonly weightDecay: number;
  /** Which variables decay: 'matrices' (rank >= 2; not biases and norms) or 'all'. */
  readonly decay: 'matrices' | 'all';
}

export const ADAMW_DEFAULTS: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0.01,
  decay: 'matrices',
};

/** Moments in the order of the optimizer's variables (tfjs variable names differ between processes). */
export interface AdamWState {
  readonly step: number;
  readonly m: number[][];
  readonly v: number[][];
}

/** AdamW over a fixed list of variables; the learning rate is given per step. */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;
  readonly options: AdamWOptions;

  constructor(
    private readonly variables: readonly tf.Variable[],
    options: Partial<AdamWOptions> = {},
  ) {
    this.options = resolveConfig(ADAMW_DEFAULTS, options, 'adamw');
    if (this.options.decay !== 'matrices' && this.options.decay !== 'all') {
      throw new InvalidInputError('adamw.decay', this.options.decay, "expected 'matrices' or 'all'");
    }
    // tidy frees the zeros each slot is made from (variables themselves survive tidy).
    const slot = (x: tf.Variable): tf.Variable => tf.tidy(() => tf.variable(tf.zerosLike(x), false));
    this.m = variables.map(slot);
    this.v = variables.map(slot);
  }

  /** Steps taken so far. */
  get iterations(): number {
    return this.t;
  }

  /**
   * Applies gradients (same order as the variables; an undefined entry leaves that variable
   * and its moments alone, weight decay included) with learning rate `lr`, each gradient
   * multiplied by `gradScale` first (global-norm clipping without a scaled copy).
   */
  step(grads: readonly (tf.Tensor | undefined)[], lr: number, gradScale = 1): void {
    if (grads.length !== this.variables.length) {
      throw new InvalidInputError('grads', grads.length, `expected ${this.variables.length} gradients`);
    }
    const { beta1, beta2, epsilon, weightDecay, decay } = this.options;
    this.t += 1;
    const step = this.t;
    tf.tidy(() => {
      this.variables.forEach((x, i) => {
        const g = grads[i];
        if (g === undefined) return;
        const m = this.m[i] as tf.Variable;
        const v = this.v[i] as tf.Variable;
        const decays = decay === 'all' || x.rank >= 2;
        const next = adamwUpdate(x, g, m, v, {
          lr,
          beta1,
          beta2,
          epsilon,
          step,
          weightDecay: decays ? weightDecay : 0,
          gradScale,
        });
        m.assign(next.m);
        v.assign(next.v);
        x.assign(next.x);
      });
    });
  }

  getState(): AdamWState {
    const read = (slots: tf.Variable[]) => slots.map((s) => Array.from(s.dataSync()));
    return { step: this.t, m: read(this.m), v: read(this.v) };
  }

  setState(state: AdamWState): void {
    if (
      !Array.isArray(state.m) ||
      !Array.isArray(state.v) ||
      state.m.length !== this.variables.length ||
      state.v.length !== this.variables.length
    ) {
      throw new InvalidInputError(
        'optimizer state.m',
        state.m?.length,
        `expected moments for ${this.variables.length} variables`,
      );
    }
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new InvalidInputError('optimizer state.step', state.step, 'expected an integer >= 0');
    }
    this.variables.forEach((x, i) => {
      const m = state.m[i] as number[];
      const v = state.v[i] as number[];
      if (m.length !== x.size || v.length !== x.size) {
        throw new InvalidInputError(`optimizer state.m[${i}]`, m.length, `expected ${x.size} values`);
      }
      tf.tidy(() => {
        (this.m[i] as tf.Variable).assign(tf.tensor(m, x.shape));
        (this.v[i] as tf.Variable).assign(tf.tensor(v, x.shape));
      });
    });
    this.t = state.step;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.m.length = 0;
    this.v.length = 0;
  }
}

/** The global L2 norm of a list of gradients (one readback). */
export function globalNorm(grads: readonly tf.Tensor[]): number {
  if (grads.length === 0) return 0;
  const normT = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))));
  const norm = (normT.dataSync() as Float32Array)[0] ?? 0;
  normT.dispose();
  return norm;
}

/** The factor that clips gradients of global norm `norm` to `maxNorm` (1: no clipping). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm && Number.isFinite(norm) ? maxNorm / (norm + 1e-6) : 1;
}
