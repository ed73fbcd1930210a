// TrainingClient: forward, forward_backward, optim_step and checkpoints of one model, shaped after
// the SDK's src/tinker/lib/public_interfaces/training_client.py (d595dc2b, SDK 0.25.0).
//
// Training calls are two-stage, like the SDK's *_async methods: awaiting the call submits the
// request (in order: each waits for the previous submission's answer, and carries the next
// seq_id), and the returned future's result() polls for the output. So a caller may submit the
// next forward_backward and optim_step before reading the previous result (the cookbook's
// rl/train.py train_step does): the server runs a model's requests in seq_id order, so the
// results are the same as reading each before submitting the next. What cannot be pipelined is
// data that depends on a result (e.g. advantages computed from this step's logprobs).
import { InvalidInputError } from '@vzero/core';
import { TinkerApiError } from './errors.js';
import { chunkData, combineForwardBackwardOutputs } from './chunks.js';
import { CombinedFuture, type TinkerFuture } from './futures.js';
import {
  PROTO_CONTENT_TYPE,
  decodeForwardBackwardOutput,
  encodeForwardBackwardRequest,
  hasProtoEncoding,
} from './protobuf.js';
import {
  AdamParamsSchema,
  DatumSchema,
  ForwardBackwardOutputSchema,
  GetInfoResponseSchema,
  LoadWeightsResponseSchema,
  OptimStepResponseSchema,
  SaveWeightsForSamplerResponseSchema,
  SaveWeightsResponseSchema,
  UnloadModelResponseSchema,
  UntypedAPIFutureSchema,
  type AdamParamsInput,
  type Datum,
  type ForwardBackwardOutput,
  type ForwardBackwardRequest,
  type GetInfoResponse,
  type LoadWeightsResponse,
  type LossFnType,
  type OptimStepResponse,
  type SaveWeightsForSamplerResponse,
  type SaveWeightsResponse,
  type UnloadModelResponse,
} from './types.js';
import { parseWire } from './validate.js';
import { API, parseBody } from './client-common.js';
import type { ServiceClient } from './service-client.js';
import type { SamplingClient } from './sampling-client.js';
/**
 * Whether a failed submission certainly did not reach the server's queue: a 4xx answer (but the
 * 409 for a reused seq_id), or bad input found before sending. No answer or a 5xx may have.
 */
function refusedBeforeQueueing(error: unknown): boolean {
  if (error instanceof TinkerApiError)
    return (
      error.status >= 400 && error.status < 500 && !/sequence number was reused/.test(error.detail ?? '')
    );
  return error instanceof InvalidInputError && !error.field.startsWith('response of');
}

function checkData(data: readonly Datum[]): Datum[] {
  return data.map((d, i) => parseWire(DatumSchema, d, `data[${i}]`));
}

export class TrainingClient {
  readonly service: ServiceClient;
  readonly modelId: string;
  readonly baseModel: string;
  #seq = 0;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(service: ServiceClient, modelId: string, baseModel: string) {
    this.service = service;
    this.modelId = modelId;
    this.baseModel = baseModel;
  }

  /**
   * Runs `send(seqId)` after every earlier submission of this client has been answered, so
   * requests reach the server in seq_id order (the SDK's _take_turn).
   */
  #submit<T>(send: (seqId: number) => Promise<T>): Promise<T> {
    const run = this.#turn.then(async () => {
      const seqId = ++this.#seq;
      try {
        return await send(seqId);
      } catch (error) {
        // A request the server refused was not queued: its seq_id is free again, or the server
        // would wait for it before running the next ones. (A refusal because the seq_id was
        // already used keeps it used.)
        if (this.#seq === seqId && refusedBeforeQueueing(error)) this.#seq--;
        throw error;
      }
    });
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #post(endpoint: string, body: unknown): Promise<string> {
    const answer = await this.service.transport.postJson(endpoint, body);
    return parseBody(UntypedAPIFutureSchema, answer, endpoint).request_id;
  }

  async #postProto(endpoint: string, bytes: Uint8Array): Promise<string> {
    const response = await this.service.transport.request(endpoint, {
      method: 'POST',
      body: bytes,
      contentType: PROTO_CONTENT_TYPE,
    });
    const answer: unknown = JSON.parse(Buffer.from(response.body).toString('utf8'));
    return parseBody(UntypedAPIFutureSchema, answer, endpoint).request_id;
  }

  #outputFuture(endpoint: string, type: string, requestId: string): TinkerFuture<ForwardBackwardOutput> {
    return this.service.future(endpoint, type, requestId, ForwardBackwardOutputSchema, {
      acceptProto: true,
      decodeProto: decodeForwardBackwardOutput,
    });
  }

  async #fwd(
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig: Readonly<Record<string, number>> | undefined,
    forwardOnly: boolean,
  ): Promise<TinkerFuture<ForwardBackwardOutput>> {
    const checked = checkData(data);
    const config = this.service.clientConfig;
    const chunks = chunkData(checked, config.fwdbwd_max_chunk_len);
    const futures = [];
    for (const chunk of chunks) {
      const input = {
        data: chunk,
        loss_fn: lossFn,
        ...(lossFnConfig ? { loss_fn_config: { ...lossFnConfig } } : {}),
      };
      futures.push(
        await this.#submit(async (seqId) => {
          const request: ForwardBackwardRequest = {
            model_id: this.modelId,
            seq_id: seqId,
            forward_backward_input: input,
          };
          const proto = this.service.encoding === 'protobuf' && hasProtoEncoding(request);
          let endpoint: string;
          let requestId: string;
          if (proto && (!forwardOnly || config.fwd_via_fwdbwd)) {
            endpoint = `${API}/forward_backward`;
            requestId = await this.#postProto(endpoint, encodeForwardBackwardRequest(request, forwardOnly));
          } else if (forwardOnly) {
            endpoint = `${API}/forward`;
            requestId = await this.#post(endpoint, {
              model_id: this.modelId,
              seq_id: seqId,
              forward_input: input,
            });
          } else {
            endpoint = `${API}/forward_backward`;
            requestId = await this.#post(endpoint, request);
          }
          return this.#outputFuture(endpoint, forwardOnly ? 'Forward' : 'ForwardBackward', requestId);
        }),
      );
    }
    return futures.length === 1 ? futures[0]! : new CombinedFuture(futures, combineForwardBackwardOutputs);
  }

  /** The loss and its outputs (logprobs, ...) without gradients. */
  forward(
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig?: Readonly<Record<string, number>>,
  ): Promise<TinkerFuture<ForwardBackwardOutput>> {
    return this.#fwd(data, lossFn, lossFnConfig, true);
  }

  /**
   * Loss, outputs, and gradients accumulated until the next optimStep. Loss inputs:
   * cross_entropy {target_tokens, weights}; importance_sampling and ppo {target_tokens,
   * logprobs (the sampler's), advantages}; ppo's loss_fn_config {clip_low_threshold,
   * clip_high_threshold} (default 0.8 and 1.2).
   */
  forwardBackward(
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig?: Readonly<Record<string, number>>,
  ): Promise<TinkerFuture<ForwardBackwardOutput>> {
    return this.#fwd(data, lossFn, lossFnConfig, false);
  }

  /** One Adam step over the accumulated gradients (AdamParams' defaults are the SDK's). */
  optimStep(adamParams: AdamParamsInput = {}): Promise<TinkerFuture<OptimStepResponse>> {
    const params = parseWire(AdamParamsSchema, adamParams, 'adam_params');
    const endpoint = `${API}/optim_step`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        adam_params: params,
        model_id: this.modelId,
        seq_id: seqId,
        type: 'optim_step',
      });
      return this.service.future(endpoint, 'OptimStep', id, OptimStepResponseSchema);
    });
  }

  /** save_weights: weights and optimizer state, to resume from (tinker://MODEL/weights/NAME). */
  saveState(name: string): Promise<TinkerFuture<SaveWeightsResponse>> {
    const endpoint = `${API}/save_weights`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        model_id: this.modelId,
        path: name,
        seq_id: seqId,
        type: 'save_weights',
      });
      return this.service.future(endpoint, 'SaveWeights', id, SaveWeightsResponseSchema);
    });
  }

  /** load_weights from a save_weights path (only as the model's first request, as SkyRL rules). */
  loadState(path: string, options: { optimizer?: boolean } = {}): Promise<TinkerFuture<LoadWeightsResponse>> {
    const endpoint = `${API}/load_weights`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        model_id: this.modelId,
        path,
        optimizer: options.optimizer ?? true,
        seq_id: seqId,
        type: 'load_weights',
      });
      return this.service.future(endpoint, 'LoadWeights', id, LoadWeightsResponseSchema);
    });
  }

  /** save_weights_for_sampler: weights a sampler can load (tinker://MODEL/sampler_weights/NAME). */
  saveWeightsForSampler(name: string): Promise<TinkerFuture<SaveWeightsForSamplerResponse>> {
    const endpoint = `${API}/save_weights_for_sampler`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        model_id: this.modelId,
        path: name,
        seq_id: seqId,
        type: 'save_weights_for_sampler',
      });
      return this.service.future(endpoint, 'SaveWeightsForSampler', id, SaveWeightsForSamplerResponseSchema);
    });
  }

  /** Saves sampler weights under `name` and opens a SamplingClient on them. */
  async saveWeightsAndGetSamplingClient(name: string): Promise<SamplingClient> {
    const saved = await (await this.saveWeightsForSampler(name)).result();
    return this.service.createSamplingClient({ modelPath: saved.path });
  }

  async getInfo(): Promise<GetInfoResponse> {
    const body = await this.service.transport.postJson(`${API}/get_info`, {
      model_id: this.modelId,
      type: 'get_info',
    });
    return parseBody(GetInfoResponseSchema, body, 'get_info');
  }

  async unload(): Promise<UnloadModelResponse> {
    const endpoint = `${API}/unload_model`;
    const id = await this.#submit(() =>
      this.#post(endpoint, { model_id: this.modelId, type: 'unload_model' }),
    );
    return this.service.future(endpoint, 'UnloadModel', id, UnloadModelResponseSchema).result();
  }
}
