// forward_backward over many datums: the SDK splits the data into chunks of at most
// fwdbwd_max_chunk_len datums (client config), sends each as its own request and combines the
// results (src/tinker/lib/public_interfaces/training_client.py _chunked_requests_generator and
// src/tinker/lib/chunked_fwdbwd_helpers.py at d595dc2b). Metric names carry their reduction
// after a colon ("loss:sum", "lr:mean"); chunks combine by it, means weighted by datum count.
import type { Datum, ForwardBackwardOutput } from './types.js';

export function chunkData(data: readonly Datum[], maxLen: number): Datum[][] {
  const out: Datum[][] = [];
  for (let i = 0; i < data.length; i += maxLen) out.push(data.slice(i, i + maxLen));
  return out.length > 0 ? out : [[]];
}

export function combineForwardBackwardOutputs(
  results: readonly ForwardBackwardOutput[],
): ForwardBackwardOutput {
  if (results.length === 0) return { loss_fn_output_type: '', loss_fn_outputs: [], metrics: {} };
  if (results.length === 1) return results[0]!;
  const weights = results.map((r) => r.loss_fn_outputs.length);
  const metrics: Record<string, number> = {};
  for (const key of Object.keys(results[0]!.metrics)) {
    if (!results.every((r) => key in r.metrics)) continue;
    const values = results.map((r) => r.metrics[key]!);
    const reduction = key.split(':')[1];
    switch (reduction) {
      case 'sum':
        metrics[key] = values.reduce((a, b) => a + b, 0);
        break;
      case 'min':
        metrics[key] = Math.min(...values);
        break;
      case 'max':
        metrics[key] = Math.max(...values);
        break;
      case 'mean':
      case 'slack': {
        const total = weights.reduce((a, b) => a + b, 0);
        const mean = total > 0 ? values.reduce((a, v, i) => a + v * weights[i]!, 0) / total : values[0]!;
        metrics[key] = reduction === 'mean' ? mean : Math.max(...values) - mean;
        break;
      }
      case 'unique':
        metrics[key] = values[0]!;
        values.slice(1).forEach((v, i) => (metrics[`${key}_${i + 1}`] = v));
        break;
      default:
        break; // unknown reductions are dropped, as the SDK does
    }
  }
  return {
    loss_fn_output_type: results[0]!.loss_fn_output_type,
    loss_fn_outputs: results.flatMap((r) => r.loss_fn_outputs),
    metrics,
  };
}
