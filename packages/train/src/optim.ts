// AdamW (decoupled weight decay, Loshchilov & Hutter) with global gradient-norm clipping, as in
// the reference recipe: AdamW(0.9, 0.999), weight decay 0.01, clip 1.0. tfjs ships Adam only.
// State (moments and step) is exportable so that `--resume` continues bit-for-bit.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '@vzero/core';

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Global L2 norm the gradients are clipped to (0 disables). */
  readonly gradClip: number;
}

/** Moments in the order of the optimizer's variables (tfjs variable names differ between processes). */
export interface AdamWState {
  readonly step: number;
  readonly m: number[][];
  readonly v: number[][];
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private stepCount = 0;

  constructor(
    private readonly variables: readonly tf.Variable[],
    private readonly config: AdamWConfig,
  ) {
    for (const variable of variables) {
      // tidy frees the zeros each variable is made from (variables themselves survive tidy).
      this.m.set(
        variable.name,
        tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
      );
      this.v.set(
        variable.name,
        tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
      );
    }
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * Applies one update from gradients keyed by variable name (variables without a gradient are
   * left alone, including their weight decay). Returns the gradient norm before clipping.
   */
  apply(grads: tf.NamedTensorMap): number {
    const names = this.variables.map((v) => v.name).filter((n) => grads[n] !== undefined);
    const norm = tf.tidy(() => {
      const squares = names.map((n) => tf.sum(tf.square(grads[n] as tf.Tensor)));
      return squares.length === 0 ? 0 : (tf.sqrt(tf.addN(squares)).dataSync()[0] ?? 0);
    });
    if (!Number.isFinite(norm)) {
      throw new InvalidInputError(
        'gradients',
        norm,
        'the gradient norm is not finite; the update was skipped',
      );
    }
    const { lr, beta1, beta2, eps, weightDecay, gradClip } = this.config;
    const scale = gradClip > 0 && norm > gradClip ? gradClip / (norm + 1e-6) : 1;
    this.stepCount++;
    const t = this.stepCount;
    const bias1 = 1 - beta1 ** t;
    const bias2 = 1 - beta2 ** t;
    tf.tidy(() => {
      for (const variable of this.variables) {
        const g0 = grads[variable.name];
        if (g0 === undefined) continue;
        const g = scale === 1 ? g0 : tf.mul(g0, scale);
        const m = this.m.get(variable.name) as tf.Variable;
        const v = this.v.get(variable.name) as tf.Variable;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bias1), tf.add(tf.sqrt(tf.div(v, bias2)), eps));
        const decayed = weightDecay > 0 ? tf.mul(variable, 1 - lr * weightDecay) : variable;
        variable.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
    return norm;
  }

  getState(): AdamWState {
    const read = (map: Map<string, tf.Variable>) =>
      this.variables.map((x) => Array.from((map.get(x.name) as tf.Variable).dataSync()));
    return { step: this.stepCount, m: read(this.m), v: read(this.v) };
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
    this.variables.forEach((x, i) => {
      const m = state.m[i] as number[];
      const v = state.v[i] as number[];
      if (m.length !== x.size || v.length !== x.size) {
        throw new InvalidInputError(`optimizer state.m[${i}]`, m.length, `expected ${x.size} values`);
      }
      tf.tidy(() => {
        (this.m.get(x.name) as tf.Variable).assign(tf.tensor(m, x.shape));
        (this.v.get(x.name) as tf.Variable).assign(tf.tensor(v, x.shape));
      });
    });
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
