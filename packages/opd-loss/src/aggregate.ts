// Reducing a [B, T] matrix of per-token losses to a scalar, the four ways the reference offers.
import * as tf from '@tensorflow/tfjs-core';
import type { Aggregation } from './config.js';

/**
 * Aggregates `perToken` [B, T] over the real tokens of `mask` [B, T] (0/1; padded positions are
 * ignored whatever they hold):
 * - 'token-mean': sum over real tokens / number of real tokens (reference default);
 * - 'seq-mean-token-mean': per-sequence mean, then mean over sequences (the paper's equation);
 * - 'seq-mean-token-sum': per-sequence sum, then mean over sequences;
 * - 'seq-mean-token-sum-norm': per-sequence sum, mean over sequences, then / `lossScaleFactor`
 *   (default T, the padded length): the reference divides after averaging over sequences.
 * Sequence means run over sequences with at least one real token; an empty batch gives 0.
 */
export function aggregateLoss(
  perToken: tf.Tensor2D,
  mask: tf.Tensor2D,
  aggregation: Aggregation,
  lossScaleFactor?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const valid = tf.cast(mask, 'bool');
    const masked = tf.where(valid, perToken, tf.zeros(perToken.shape));
    const maskF = tf.cast(valid, 'float32');
    switch (aggregation) {
      case 'token-mean':
        return tf.div(tf.sum(masked), tf.maximum(tf.sum(maskF), 1));
      case 'seq-mean-token-mean':
      case 'seq-mean-token-sum':
      case 'seq-mean-token-sum-norm': {
        const seqSum = tf.sum(masked, 1);
        const seqCount = tf.sum(maskF, 1);
        const seqValue =
          aggregation === 'seq-mean-token-mean' ? tf.div(seqSum, tf.maximum(seqCount, 1)) : seqSum;
        const sequences = tf.sum(tf.cast(tf.greater(seqCount, 0), 'float32'));
        const seqMean = tf.div(tf.sum(seqValue), tf.maximum(sequences, 1));
        return aggregation === 'seq-mean-token-sum-norm'
          ? tf.div(seqMean, lossScaleFactor ?? perToken.shape[1])
          : seqMean;
      }
    }
  }) as tf.Scalar;
}
