// Cross-implementation check: bytes written by Google's Python protobuf with the SDK's own
// generated module (fixtures/python-protobuf.json says how) decode here to the values they were
// built from, and this package's encoder writes the very same bytes for the request.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  decodeForwardBackwardOutput,
  decodeForwardBackwardRequest,
  decodeSampleResponse,
  encodeForwardBackwardRequest,
  type ForwardBackwardRequest,
} from '../src/index.js';

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/python-protobuf.json', import.meta.url), 'utf8'),
) as Record<string, string>;
const bytes = (name: string) => new Uint8Array(Buffer.from(fixtures[name]!, 'base64'));

// What the Python side put in (map keys in sorted order, as deterministic serialization writes them).
const request: ForwardBackwardRequest = {
  model_id: 'model_1',
  seq_id: 7,
  forward_backward_input: {
    loss_fn: 'ppo',
    loss_fn_config: { clip_low_threshold: 0.75 },
    data: [
      {
        model_input: {
          chunks: [
            { type: 'encoded_text', tokens: [151644, 872, 9] },
            {
              type: 'image',
              data: Buffer.from('\x89PNG', 'latin1').toString('base64'),
              format: 'png',
              expected_tokens: 4,
            },
          ],
        },
        loss_fn_inputs: {
          advantages: { data: [0, 0, 0, 0, 0.5, -1.25, 3], dtype: 'float32', shape: [7] },
          target_tokens: { data: [872, 9, 1, 2, 3, 4, 2 ** 40], dtype: 'int64', shape: [7] },
        },
      },
    ],
  },
};

it('ForwardBackwardRequest: decodes, and encodes to the same bytes', () => {
  expect(decodeForwardBackwardRequest(bytes('forward_backward_request'))).toEqual({
    request,
    forwardOnly: true,
  });
  expect(Buffer.from(encodeForwardBackwardRequest(request, true)).toString('base64')).toBe(
    fixtures.forward_backward_request,
  );
});

it('ForwardBackwardOutput: one batched record of two datums', () => {
  expect(decodeForwardBackwardOutput(bytes('forward_backward_output'))).toEqual({
    loss_fn_output_type: 'scalar',
    metrics: { 'loss:sum': 1.5 },
    loss_fn_outputs: [
      { logprobs: { data: [-1, -0.5], dtype: 'float32', shape: [2] } },
      { logprobs: { data: [-2], dtype: 'float32', shape: [1] } },
    ],
  });
});

it('SampleResponse: NaN prompt log-prob, masked top-k cells', () => {
  expect(decodeSampleResponse(bytes('sample_response'))).toEqual({
    sequences: [{ stop_reason: 'stop', tokens: [5, 6], logprobs: [-0.25, -1] }],
    prompt_logprobs: [null, -0.5],
    topk_prompt_logprobs: [null, [[3, -0.5]]],
    prompt_cache_hit_tokens: 1,
  });
});
