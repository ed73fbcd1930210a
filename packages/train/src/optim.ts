// The trainer's AdamW: the reference recipe's settings (AdamW(0.9, 0.999), weight decay 0.01 on
// every variable, global gradient-norm clipping 1.0) over @vzero/model's AdamW, the workspace's
// one implementation (one fused update per variable). This adapter keeps the trainer's API:
// a fixed learning rate, gradients keyed by variable name, the norm returned, and the exportable
// state format that `--resume` reads back (unchanged: step and moments in variable order).
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '@vzero/core';
import { AdamW as ModelAdamW, clipScale, globalNorm, type AdamWState } from '@vzero/model';

export type { AdamWState };

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Global L2 norm the gradients are clipped to (0 disables). */
  readonly gradClip: number;
}

export class AdamW {
  private readonly inner: ModelAdamW;

  constructor(
    private readonly variables: readonly tf.Variable[],
    private readonly config: AdamWConfig,
  ) {
    this.inner = new ModelAdamW(variables, {
      beta1: config.beta1,
      beta2: config.beta2,
      epsilon: config.eps,
      weightDecay: config.weightDecay,
      decay: 'all',
    });
  }

  get step(): number {
    return this.inner.iterations;
  }

  /**
   * Applies one update from gradients keyed by variable name (variables without a gradient are
   * left alone, including their weight decay). Returns the gradient norm before clipping.
   */
  apply(grads: tf.NamedTensorMap): number {
    const ordered = this.variables.map((v) => grads[v.name]);
    const norm = globalNorm(ordered.filter((g): g is tf.Tensor => g !== undefined));
    if (!Number.isFinite(norm)) {
      throw new InvalidInputError(
        'gradients',
        norm,
        'the gradient norm is not finite; the update was skipped',
      );
    }
    this.inner.step(ordered, this.config.lr, clipScale(norm, this.config.gradClip));
    return norm;
  }

  getState(): AdamWState {
    return this.inner.getState();
  }

  setState(state: AdamWState): void {
    this.inner.setState(state);
  }

  dispose(): void {
    this.inner.dispose();
  }
}
