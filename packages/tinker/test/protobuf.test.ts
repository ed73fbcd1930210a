// The protobuf encoding against bytes worked out by hand from proto/tinker_public.proto (itself
// from the SDK's tinker_public_pb2.py at d595dc2ba62a1494aa0f452fe1d0dbb7b321b870): field tags,
// lengths and little-endian int32 / float32 / int64 packing, as the SDK's request_conv.py and
// response_conv.py and SkyRL's proto_serialization.py (a9564572) write them. Then round trips
// over random messages.
import { fromBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ForwardBackwardRequestSchema as PbRequest } from '../src/gen/tinker_public_pb.js';
import {
  decodeForwardBackwardOutput,
  decodeForwardBackwardRequest,
  decodeSampleResponse,
  encodeForwardBackwardOutput,
  encodeForwardBackwardRequest,
  encodeSampleResponse,
  type Datum,
  type ForwardBackwardOutput,
  type ForwardBackwardRequest,
  type SampleResponse,
} from '../src/index.js';

const bytes = (...xs: number[]) => Uint8Array.from(xs);

describe('ForwardBackwardRequest', () => {
  const request: ForwardBackwardRequest = {
    model_id: 'm',
    seq_id: 3,
    forward_backward_input: {
      loss_fn: 'cross_entropy',
      loss_fn_config: null,
      data: [
        {
          model_input: { chunks: [{ type: 'encoded_text', tokens: [1, 258] }] },
          loss_fn_inputs: {
            target_tokens: { data: [5], dtype: 'int64', shape: [1] },
            weights: { data: [0.5], dtype: 'float32', shape: [1] },
          },
        },
      ],
    },
  };

  it('packs tokens as int32, int64 tensors as int64 and float tensors as float32, little-endian', () => {
    const msg = fromBinary(PbRequest, encodeForwardBackwardRequest(request, true));
    expect(msg.modelId).toBe('m');
    expect(msg.seqId).toBe(3);
    expect(msg.forwardOnly).toBe(true);
    const chunk = msg.data[0]!.modelInput[0]!.chunk;
    expect(chunk.case).toBe('encodedText');
    expect(chunk.case === 'encodedText' && chunk.value.tokens).toEqual(bytes(1, 0, 0, 0, 2, 1, 0, 0));
    const target = msg.data[0]!.lossFnInputs.target_tokens!;
    expect(target.encoding).toEqual({ case: 'dense', value: bytes(5, 0, 0, 0, 0, 0, 0, 0) });
    expect(target.dtype).toBe(2); // DTYPE_INT64
    const weights = msg.data[0]!.lossFnInputs.weights!;
    expect(weights.encoding).toEqual({ case: 'dense', value: bytes(0, 0, 0, 0x3f) }); // 0.5f
    expect(weights.dtype).toBe(1); // DTYPE_FLOAT32
    expect(weights.shape).toEqual([1n]);
  });

  it('the first bytes are model_id (field 1) then seq_id (field 2)', () => {
    const encoded = encodeForwardBackwardRequest(request);
    // 0x0a = field 1, length-delimited; 0x01 = length; "m"; 0x10 = field 2, varint; 3
    expect([...encoded.subarray(0, 5)]).toEqual([0x0a, 0x01, 0x6d, 0x10, 0x03]);
  });

  it('decodes back to the request, seq_id 0 meaning none', () => {
    expect(decodeForwardBackwardRequest(encodeForwardBackwardRequest(request, true))).toEqual({
      request,
      forwardOnly: true,
    });
    const none = decodeForwardBackwardRequest(encodeForwardBackwardRequest({ ...request, seq_id: null }));
    expect(none.request.seq_id).toBeNull();
  });

  it('an image chunk carries its raw bytes; expected_tokens is kept', () => {
    const withImage: ForwardBackwardRequest = {
      ...request,
      forward_backward_input: {
        ...request.forward_backward_input,
        data: [
          {
            ...request.forward_backward_input.data[0]!,
            model_input: {
              chunks: [
                {
                  type: 'image',
                  data: Buffer.from([0x89, 0x50]).toString('base64'),
                  format: 'png',
                  expected_tokens: 4,
                },
              ],
            },
          },
        ],
      },
    };
    const msg = fromBinary(PbRequest, encodeForwardBackwardRequest(withImage));
    const chunk = msg.data[0]!.modelInput[0]!.chunk;
    expect(
      chunk.case === 'image' && [chunk.value.data, chunk.value.format, chunk.value.expectedTokens],
    ).toEqual([bytes(0x89, 0x50), 'png', 4]);
    expect(decodeForwardBackwardRequest(encodeForwardBackwardRequest(withImage)).request).toEqual(withImage);
  });

  it('a sparse CSR tensor is sent as CSR and read back dense', () => {
    const sparse: ForwardBackwardRequest = {
      ...request,
      forward_backward_input: {
        ...request.forward_backward_input,
        data: [
          {
            ...request.forward_backward_input.data[0]!,
            loss_fn_inputs: {
              weights: {
                data: [1, 2],
                dtype: 'float32',
                shape: [2, 3],
                sparse_crow_indices: [0, 1, 2],
                sparse_col_indices: [2, 0],
              },
            },
          },
        ],
      },
    };
    const decoded = decodeForwardBackwardRequest(encodeForwardBackwardRequest(sparse)).request;
    expect(decoded.forward_backward_input.data[0]!.loss_fn_inputs.weights).toEqual({
      data: [0, 0, 1, 2, 0, 0],
      dtype: 'float32',
      shape: [2, 3],
    });
  });

  it('garbage is refused with the body named', () => {
    expect(() => decodeForwardBackwardRequest(bytes(0xff, 0xff, 0xff))).toThrow(/^body = "3 bytes"/);
  });
});

describe('SampleResponse', () => {
  it('decodes bytes written by hand', () => {
    // SampledSequence: stop_reason = LENGTH (08 01), tokens = [7] (12 04 07000000),
    // logprobs = [-0.5] (1a 04 000000bf): 14 bytes.
    const seq = [0x08, 0x01, 0x12, 0x04, 7, 0, 0, 0, 0x1a, 0x04, 0, 0, 0, 0xbf];
    // SampleResponse: sequences (0a 0e ...), prompt_logprobs = [NaN, -1] (12 08 0000c07f 000080bf).
    const body = bytes(0x0a, seq.length, ...seq, 0x12, 0x08, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xbf);
    expect(decodeSampleResponse(body)).toEqual({
      sequences: [{ stop_reason: 'length', tokens: [7], logprobs: [-0.5] }],
      prompt_cache_hit_tokens: 0,
      prompt_logprobs: [null, -1],
    });
  });

  it('top-k rows are padded with (0, -99999) and unpadded on the way back', () => {
    const response: SampleResponse = {
      sequences: [{ stop_reason: 'stop', tokens: [1], logprobs: [-0.25] }],
      prompt_cache_hit_tokens: 0,
      prompt_logprobs: [null, -0.5, -2],
      topk_prompt_logprobs: [
        null,
        [
          [3, -0.5],
          [9, -1.5],
        ],
        [[4, -2]],
      ],
    };
    expect(decodeSampleResponse(encodeSampleResponse(response))).toEqual(response);
  });
});

describe('ForwardBackwardOutput', () => {
  it('batches each field with int64 byte offsets and the trailing shape', () => {
    const output: ForwardBackwardOutput = {
      loss_fn_output_type: 'ArrayRecord',
      metrics: { 'loss:sum': 1.5 },
      loss_fn_outputs: [
        { logprobs: { data: [-1, -0.5], dtype: 'float32', shape: [2] } },
        { logprobs: { data: [-2], dtype: 'float32', shape: [1] } },
      ],
    };
    expect(decodeForwardBackwardOutput(encodeForwardBackwardOutput(output))).toEqual(output);
  });
});

// Random messages: float32 values survive the float32 wire exactly, so they round-trip.
const f32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => Math.fround(v));
const token = fc.integer({ min: 0, max: 0x7fffffff });

const datum: fc.Arbitrary<Datum> = fc.integer({ min: 0, max: 6 }).chain((n) =>
  fc.record({
    model_input: fc.record({
      chunks: fc.array(
        fc.array(token, { maxLength: 5 }).map((tokens) => ({ type: 'encoded_text' as const, tokens })),
        { maxLength: 3 },
      ),
    }),
    loss_fn_inputs: fc.record({
      target_tokens: fc
        .array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: n, maxLength: n })
        .map((data) => ({ data, dtype: 'int64' as const, shape: [n] })),
      advantages: fc
        .array(f32, { minLength: n, maxLength: n })
        .map((data) => ({ data, dtype: 'float32' as const, shape: [n] })),
    }),
  }),
);

describe('round trips (property)', () => {
  it('ForwardBackwardRequest', () => {
    fc.assert(
      fc.property(
        fc.array(datum, { maxLength: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.boolean(),
        (data, seq, fwd) => {
          const request: ForwardBackwardRequest = {
            model_id: 'model_x',
            seq_id: seq,
            forward_backward_input: { data, loss_fn: 'ppo', loss_fn_config: { clip_low_threshold: 0.7 } },
          };
          expect(decodeForwardBackwardRequest(encodeForwardBackwardRequest(request, fwd))).toEqual({
            request,
            forwardOnly: fwd,
          });
        },
      ),
    );
  });

  it('SampleResponse', () => {
    // At least one token: empty logprobs bytes read back as "none", as response_conv.py reads them.
    const seq = fc.integer({ min: 1, max: 5 }).chain((n) =>
      fc.record({
        stop_reason: fc.constantFrom('stop' as const, 'length' as const),
        tokens: fc.array(token, { minLength: n, maxLength: n }),
        logprobs: fc.array(f32, { minLength: n, maxLength: n }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(seq, { maxLength: 4 }),
        fc.array(fc.option(f32, { nil: null }), { maxLength: 6 }),
        (sequences, prompt) => {
          const response: SampleResponse = {
            sequences,
            prompt_cache_hit_tokens: 0,
            ...(prompt.length > 0 ? { prompt_logprobs: prompt } : {}),
          };
          expect(decodeSampleResponse(encodeSampleResponse(response))).toEqual(response);
        },
      ),
    );
  });
});
