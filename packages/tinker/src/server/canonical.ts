// Values rounded to float32 on the way in and out, so that a JSON client and a protobuf client
// (whose wire holds float32) give the backend the same numbers and get the same numbers back.
import { canonicalTensor } from '../model-input.js';
import type { Datum, ForwardBackwardOutput, SampleResponse, TensorData } from '../types.js';

/** float32 tensors rounded to float32, so JSON and protobuf requests compute the same thing. */
export function canonicalData(data: readonly Datum[]): Datum[] {
  return data.map((d) => ({
    model_input: d.model_input,
    loss_fn_inputs: Object.fromEntries(
      Object.entries(d.loss_fn_inputs).map(([k, t]) => [k, canonicalTensor(t)]),
    ),
  }));
}

export function canonicalOutput(out: ForwardBackwardOutput): ForwardBackwardOutput {
  return {
    loss_fn_output_type: out.loss_fn_output_type,
    loss_fn_outputs: out.loss_fn_outputs.map((o) =>
      Object.fromEntries(Object.entries(o).map(([k, t]) => [k, canonicalTensor(t as TensorData)])),
    ),
    metrics: { ...out.metrics },
  };
}

export function canonicalSample(out: SampleResponse): SampleResponse {
  const f = (v: number | null) => (v === null ? null : Math.fround(v));
  return {
    ...out,
    sequences: out.sequences.map((s) => ({
      ...s,
      logprobs: s.logprobs ? s.logprobs.map((v) => Math.fround(v)) : s.logprobs,
    })),
    ...(out.prompt_logprobs ? { prompt_logprobs: out.prompt_logprobs.map(f) } : {}),
    ...(out.topk_prompt_logprobs
      ? {
          topk_prompt_logprobs: out.topk_prompt_logprobs.map((row) =>
            row ? row.map(([id, lp]) => [id, Math.fround(lp)] as [number, number]) : null,
          ),
        }
      : {}),
  };
}
