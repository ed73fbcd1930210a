// SamplingClient: sample and compute_logprobs on a sampling session (SDK
// lib/public_interfaces/sampling_client.py at d595dc2b).
import { InvalidInputError } from '@vzero/core';
import { type TinkerFuture } from './futures.js';
import { modelInputLength } from './model-input.js';
import { decodeSampleResponse } from './protobuf.js';
import {
  ModelInputSchema,
  SampleResponseSchema,
  SamplingParamsSchema,
  UntypedAPIFutureSchema,
  type ModelInput,
  type SampleResponse,
  type SamplingParamsInput,
} from './types.js';
import { parseWire } from './validate.js';
import { API, parseBody } from './client-common.js';
import type { ServiceClient } from './service-client.js';
/** What SamplingClient.sample takes (sample_request.py, camelCase around the wire params). */
export interface SampleOptions {
  readonly prompt: ModelInput;
  readonly numSamples?: number;
  readonly samplingParams: SamplingParamsInput;
  /** Log-probs of every prompt token (null for the first). */
  readonly includePromptLogprobs?: boolean;
  readonly topkPromptLogprobs?: number;
}

export class SamplingClient {
  readonly service: ServiceClient;
  readonly samplingSessionId: string;
  #seq = 0;

  constructor(service: ServiceClient, samplingSessionId: string) {
    this.service = service;
    this.samplingSessionId = samplingSessionId;
  }

  /**
   * Submits a sample request; its future resubmits it when the result expired on the server
   * (sampling changes nothing, so that is safe; api_future_impl.py's 410 path).
   */
  async submitSample(options: SampleOptions): Promise<TinkerFuture<SampleResponse>> {
    const prompt = parseWire(ModelInputSchema, options.prompt, 'prompt');
    modelInputLength(prompt, 'prompt');
    const params = parseWire(SamplingParamsSchema, options.samplingParams, 'sampling_params');
    const numSamples = options.numSamples ?? 1;
    if (!Number.isInteger(numSamples) || numSamples < 1)
      throw new InvalidInputError('numSamples', numSamples, 'a positive integer');
    const endpoint = `${API}/asample`;
    const send = async (): Promise<string> => {
      const body = await this.service.transport.postJson(endpoint, {
        num_samples: numSamples,
        prompt,
        sampling_params: params,
        sampling_session_id: this.samplingSessionId,
        seq_id: this.#seq++,
        prompt_logprobs: options.includePromptLogprobs ?? false,
        topk_prompt_logprobs: options.topkPromptLogprobs ?? 0,
        type: 'sample',
      });
      return parseBody(UntypedAPIFutureSchema, body, endpoint).request_id;
    };
    const requestId = await send();
    return this.service.future(endpoint, 'Sample', requestId, SampleResponseSchema, {
      acceptProto: true,
      decodeProto: decodeSampleResponse,
      resubmit: send,
    });
  }

  /** Samples and waits for the result (the SDK's sample_async). */
  async sample(options: SampleOptions): Promise<SampleResponse> {
    return (await this.submitSample(options)).result();
  }

  /** Log-probs of every token of `prompt` under this sampler's weights (null for the first). */
  async computeLogprobs(prompt: ModelInput): Promise<(number | null)[]> {
    const result = await this.sample({
      prompt,
      numSamples: 1,
      samplingParams: { max_tokens: 1 },
      includePromptLogprobs: true,
    });
    if (!result.prompt_logprobs)
      throw new InvalidInputError(
        'prompt_logprobs',
        result.prompt_logprobs,
        'the server returned no prompt log-probs',
      );
    return result.prompt_logprobs;
  }
}
