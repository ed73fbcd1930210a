// Conformance of the wire schemas with the SDK's request and response bodies. Each body below is
// written from the SDK's pydantic models (github.com/thinking-machines-lab/tinker
// src/tinker/types/*.py at d595dc2ba62a1494aa0f452fe1d0dbb7b321b870, SDK 0.25.0) or SkyRL's
// server (github.com/NovaSky-AI/SkyRL skyrl/tinker/api.py at a9564572eb8e91076be43c1bd5e4615e3de17265).
import { InvalidInputError } from '@vzero/core';
import { describe, expect, it } from 'vitest';
import {
  AdamParamsSchema,
  ClientConfigResponseSchema,
  CreateModelRequestSchema,
  DatumSchema,
  ForwardBackwardOutputSchema,
  ForwardBackwardRequestSchema,
  LoraConfigSchema,
  ModelInputSchema,
  SampleRequestSchema,
  SampleResponseSchema,
  SamplingParamsSchema,
  TryAgainResponseSchema,
  parseWire,
} from '../src/index.js';

describe('wire schemas accept the SDK bodies', () => {
  it('a forward_backward request with text and image chunks (forward_backward_request.py, datum.py, image_chunk.py)', () => {
    const body = {
      forward_backward_input: {
        data: [
          {
            model_input: {
              chunks: [
                { type: 'encoded_text', tokens: [151644, 872] },
                { type: 'image', data: 'iVBORw0KGgo=', format: 'png', expected_tokens: 4 },
                { type: 'image_asset_pointer', format: 'jpeg', location: 's3://b/k.jpg' },
              ],
            },
            loss_fn_inputs: {
              target_tokens: { data: [872, 1, 2, 3, 4, 5, 6], dtype: 'int64', shape: [7] },
              weights: { data: [0, 0, 0, 0, 0, 1, 1], dtype: 'float32', shape: [7] },
            },
          },
        ],
        loss_fn: 'cross_entropy',
        loss_fn_config: null,
      },
      model_id: 'model_1a2b3c4d',
      seq_id: 1,
    };
    const parsed = parseWire(ForwardBackwardRequestSchema, body, 'body');
    expect(parsed.forward_backward_input.data[0]!.model_input.chunks.map((c) => c.type)).toEqual([
      'encoded_text',
      'image',
      'image_asset_pointer',
    ]);
    expect(parsed.seq_id).toBe(1);
  });

  it('AdamParams takes the SDK defaults for fields left out (optim_step_request.py)', () => {
    expect(parseWire(AdamParamsSchema, { learning_rate: 3e-4 }, 'adam_params')).toEqual({
      learning_rate: 3e-4,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-12,
      weight_decay: 0,
      grad_clip_norm: 0,
    });
  });

  it('LoraConfig defaults train_unembed, train_mlp, train_attn to true (lora_config.py)', () => {
    expect(parseWire(LoraConfigSchema, { rank: 8 }, 'lora_config')).toEqual({
      rank: 8,
      train_unembed: true,
      train_mlp: true,
      train_attn: true,
    });
  });

  it('create_model as the SDK sends it (create_model_request.py)', () => {
    const body = {
      session_id: 'session_0f1e2d3c',
      model_seq_id: 0,
      base_model: 'Qwen/Qwen3-VL-8B-Instruct',
      user_metadata: null,
      lora_config: { rank: 32, seed: null, train_unembed: true, train_mlp: true, train_attn: true },
      type: 'create_model',
    };
    expect(parseWire(CreateModelRequestSchema, body, 'body').lora_config?.rank).toBe(32);
  });

  it('a sample request and SamplingParams defaults (sample_request.py, sampling_params.py)', () => {
    const body = {
      num_samples: 4,
      prompt: { chunks: [{ type: 'encoded_text', tokens: [1, 2, 3] }] },
      sampling_params: { max_tokens: 16, seed: 7, stop: [151645] },
      sampling_session_id: 'sampling_1',
      seq_id: 0,
      prompt_logprobs: true,
      topk_prompt_logprobs: 0,
      type: 'sample',
    };
    const parsed = parseWire(SampleRequestSchema, body, 'body');
    expect(parsed.sampling_params).toEqual({
      max_tokens: 16,
      seed: 7,
      stop: [151645],
      temperature: 1,
      top_k: -1,
      top_p: 1,
    });
    expect(parseWire(SamplingParamsSchema, { stop: '</s>' }, 'p').stop).toBe('</s>');
  });

  it('results: ForwardBackwardOutput as SkyRL writes it (skyrl/backends/jax.py), SampleResponse, try_again', () => {
    const fb = parseWire(
      ForwardBackwardOutputSchema,
      {
        loss_fn_output_type: 'scalar',
        loss_fn_outputs: [
          {
            elementwise_loss: { data: [0.5, 0.25], dtype: 'float32', shape: [2] },
            logprobs: { data: [-0.5, -0.25], dtype: 'float32', shape: [2] },
          },
        ],
        metrics: {},
      },
      'result',
    );
    expect(fb.loss_fn_outputs[0]!.logprobs!.data).toEqual([-0.5, -0.25]);
    const sample = parseWire(
      SampleResponseSchema,
      {
        sequences: [{ stop_reason: 'stop', tokens: [5, 6], logprobs: [-1, -2] }],
        prompt_logprobs: [null, -0.7],
        topk_prompt_logprobs: [
          null,
          [
            [3, -0.1],
            [4, -2.5],
          ],
        ],
      },
      'result',
    );
    expect(sample.topk_prompt_logprobs![1]).toEqual([
      [3, -0.1],
      [4, -2.5],
    ]);
    expect(
      TryAgainResponseSchema.safeParse({ type: 'try_again', request_id: '7', queue_state: 'active' }).success,
    ).toBe(true);
  });

  it('client config: unknown flags kept, missing ones take the SDK defaults (client_config_response.py)', () => {
    const parsed = parseWire(
      ClientConfigResponseSchema,
      { pjwt_auth_enabled: false, some_new_flag: 3 },
      'config',
    );
    expect(parsed.proto_write_fwdbwd).toBe(false);
    expect(parsed.fwdbwd_max_chunk_len).toBe(1024);
    expect((parsed as Record<string, unknown>).some_new_flag).toBe(3);
  });
});

describe('bad input is named by field and value', () => {
  it('a float64 dtype', () => {
    const datum = {
      model_input: { chunks: [{ type: 'encoded_text', tokens: [1] }] },
      loss_fn_inputs: { weights: { data: [1], dtype: 'float64' } },
    };
    const error = (() => {
      try {
        parseWire(DatumSchema, datum, 'data[2]');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe('data[2].loss_fn_inputs.weights.dtype');
    expect((error as InvalidInputError).value).toBe('float64');
    expect((error as Error).message).toContain('"float64"');
  });

  it('a negative token id and an unknown chunk type', () => {
    expect(() =>
      parseWire(ModelInputSchema, { chunks: [{ type: 'encoded_text', tokens: [3, -1] }] }, 'prompt'),
    ).toThrow(/prompt\.chunks\[0\]\.tokens\[1\] = -1/);
    expect(() => parseWire(ModelInputSchema, { chunks: [{ type: 'video', data: '' }] }, 'prompt')).toThrow(
      /prompt\.chunks\[0\]\.type = "video"/,
    );
  });

  it('an image whose data is not base64', () => {
    expect(() =>
      parseWire(
        ModelInputSchema,
        { chunks: [{ type: 'image', data: 'not base64!', format: 'png' }] },
        'prompt',
      ),
    ).toThrow(/prompt\.chunks\[0\]\.data = "not base64!"/);
  });
});
