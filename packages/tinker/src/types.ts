// The Tinker wire types: zod schemas and their TypeScript types, with the SDK's field names
// (snake_case, exactly as they travel in JSON). Each schema cites the SDK file it mirrors; paths
// are under src/tinker/types/ of github.com/thinking-machines-lab/tinker at d595dc2b (SDK 0.25.0)
// unless another source is named. PROTOCOL.md lists them all.
//
// Objects strip keys they do not know (newer SDKs and servers add fields; pydantic's BaseModel
// ignores them too), except where a comment says otherwise.
import { z } from 'zod';

const int = z.number().int();
const nonNegInt = int.nonnegative();
const finite = z.number();

// ---------------------------------------------------------------------------------------------
// Tensors and model inputs

/** tensor_dtype.py */
export const TensorDtypeSchema = z.enum(['float32', 'int64']);
export type TensorDtype = z.infer<typeof TensorDtypeSchema>;

/**
 * tensor_data.py (_pydantic_types/tensor_data.py): a flat array, its dtype and an optional shape;
 * optionally sparse CSR (then `data` holds the non-zeros and `shape` the dense shape).
 */
export const TensorDataSchema = z.object({
  data: z.array(finite),
  dtype: TensorDtypeSchema,
  shape: z.array(nonNegInt).nullish(),
  sparse_crow_indices: z.array(nonNegInt).nullish(),
  sparse_col_indices: z.array(nonNegInt).nullish(),
});
export type TensorData = z.infer<typeof TensorDataSchema>;

/** encoded_text_chunk.py */
export const EncodedTextChunkSchema = z.object({
  type: z.literal('encoded_text'),
  tokens: z.array(nonNegInt),
});
export type EncodedTextChunk = z.infer<typeof EncodedTextChunkSchema>;

export const ImageFormatSchema = z.enum(['png', 'jpeg']);
export type ImageFormat = z.infer<typeof ImageFormatSchema>;

/** image_chunk.py: `data` is the image file's bytes, base64 in JSON. */
export const ImageChunkSchema = z.object({
  type: z.literal('image'),
  data: z.base64(),
  format: ImageFormatSchema,
  expected_tokens: nonNegInt.nullish(),
});
export type ImageChunk = z.infer<typeof ImageChunkSchema>;

/** image_asset_pointer_chunk.py: an image the server fetches from a path or URL. */
export const ImageAssetPointerChunkSchema = z.object({
  type: z.literal('image_asset_pointer'),
  format: ImageFormatSchema,
  location: z.string().min(1),
  expected_tokens: nonNegInt.nullish(),
});
export type ImageAssetPointerChunk = z.infer<typeof ImageAssetPointerChunkSchema>;

/** dmel_chunk.py: serialized audio (DMel) token tensor, base64 in JSON. */
export const DmelChunkSchema = z.object({
  type: z.literal('dmel'),
  dmel: z.base64(),
});
export type DmelChunk = z.infer<typeof DmelChunkSchema>;

/** model_input_chunk.py: discriminated by `type`. */
export const ModelInputChunkSchema = z.discriminatedUnion('type', [
  EncodedTextChunkSchema,
  ImageChunkSchema,
  ImageAssetPointerChunkSchema,
  DmelChunkSchema,
]);
export type ModelInputChunk = z.infer<typeof ModelInputChunkSchema>;

/** model_input.py (_pydantic_types/model_input.py) */
export const ModelInputSchema = z.object({ chunks: z.array(ModelInputChunkSchema) });
export type ModelInput = z.infer<typeof ModelInputSchema>;

/** datum.py: `loss_fn_inputs` maps names (target_tokens, weights, logprobs, advantages, ...) to tensors. */
export const DatumSchema = z.object({
  model_input: ModelInputSchema,
  loss_fn_inputs: z.record(z.string(), TensorDataSchema),
});
export type Datum = z.infer<typeof DatumSchema>;

/** The dtype the SDK gives each known loss input (datum.py, _KEY_TO_TYPE). */
export const LOSS_INPUT_DTYPES: Readonly<Record<string, TensorDtype>> = {
  target_tokens: 'int64',
  weights: 'float32',
  advantages: 'float32',
  logprobs: 'float32',
  clip_low_threshold: 'float32',
  clip_high_threshold: 'float32',
};

// ---------------------------------------------------------------------------------------------
// Training

/** loss_fn_type.py */
export const LossFnTypeSchema = z.enum(['cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro']);
export type LossFnType = z.infer<typeof LossFnTypeSchema>;

/** forward_backward_input.py */
export const ForwardBackwardInputSchema = z.object({
  data: z.array(DatumSchema),
  loss_fn: LossFnTypeSchema,
  loss_fn_config: z.record(z.string(), finite).nullish(),
});
export type ForwardBackwardInput = z.infer<typeof ForwardBackwardInputSchema>;

/** forward_backward_request.py */
export const ForwardBackwardRequestSchema = z.object({
  forward_backward_input: ForwardBackwardInputSchema,
  model_id: z.string().min(1),
  seq_id: int.nullish(),
});
export type ForwardBackwardRequest = z.infer<typeof ForwardBackwardRequestSchema>;

/** forward_request.py */
export const ForwardRequestSchema = z.object({
  forward_input: ForwardBackwardInputSchema,
  model_id: z.string().min(1),
  seq_id: int.nullish(),
});
export type ForwardRequest = z.infer<typeof ForwardRequestSchema>;

/** forward_backward_output.py: one record of tensors per datum (logprobs, elementwise_loss, ...). */
export const ForwardBackwardOutputSchema = z.object({
  loss_fn_output_type: z.string(),
  loss_fn_outputs: z.array(z.record(z.string(), TensorDataSchema)),
  metrics: z.record(z.string(), finite).default({}),
});
export type ForwardBackwardOutput = z.infer<typeof ForwardBackwardOutputSchema>;

/** optim_step_request.py, AdamParams with the SDK's defaults. */
export const AdamParamsSchema = z.object({
  learning_rate: finite.nonnegative().default(1e-4),
  beta1: finite.min(0).lt(1).default(0.9),
  beta2: finite.min(0).lt(1).default(0.95),
  eps: finite.positive().default(1e-12),
  weight_decay: finite.nonnegative().default(0),
  grad_clip_norm: finite.nonnegative().default(0),
});
export type AdamParams = z.infer<typeof AdamParamsSchema>;
/** What a caller passes: any field left out takes the SDK's default. */
export type AdamParamsInput = z.input<typeof AdamParamsSchema>;

/** optim_step_request.py */
export const OptimStepRequestSchema = z.object({
  adam_params: AdamParamsSchema,
  model_id: z.string().min(1),
  seq_id: int.nullish(),
  type: z.literal('optim_step').optional(),
});
export type OptimStepRequest = z.infer<typeof OptimStepRequestSchema>;

/** _pydantic_types/optim_step_response.py */
export const OptimStepResponseSchema = z.object({
  metrics: z.record(z.string(), finite).nullish(),
});
export type OptimStepResponse = z.infer<typeof OptimStepResponseSchema>;

/** lora_config.py */
export const LoraConfigSchema = z.object({
  rank: int.positive(),
  seed: int.nullish(),
  train_unembed: z.boolean().default(true),
  train_mlp: z.boolean().default(true),
  train_attn: z.boolean().default(true),
});
export type LoraConfig = z.infer<typeof LoraConfigSchema>;
export type LoraConfigInput = z.input<typeof LoraConfigSchema>;

/** create_model_request.py */
export const CreateModelRequestSchema = z.object({
  session_id: z.string().min(1),
  model_seq_id: int.default(0),
  base_model: z.string().min(1),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  lora_config: LoraConfigSchema.nullish(),
  type: z.literal('create_model').optional(),
});
export type CreateModelRequest = z.infer<typeof CreateModelRequestSchema>;

/** create_model_response.py */
export const CreateModelResponseSchema = z.object({
  model_id: z.string(),
  type: z.literal('create_model').optional(),
});
export type CreateModelResponse = z.infer<typeof CreateModelResponseSchema>;

/** get_info_request.py */
export const GetInfoRequestSchema = z.object({ model_id: z.string().min(1), type: z.string().nullish() });

/** _pydantic_types/get_info_response.py */
export const GetInfoResponseSchema = z.object({
  type: z.literal('get_info').nullish(),
  model_data: z.object({
    arch: z.string().nullish(),
    model_name: z.string().nullish(),
    tokenizer_id: z.string().nullish(),
  }),
  model_id: z.string(),
  is_lora: z.boolean().nullish(),
  lora_rank: int.nullish(),
  model_name: z.string().nullish(),
});
export type GetInfoResponse = z.infer<typeof GetInfoResponseSchema>;

/** unload_model_request.py / unload_model_response.py */
export const UnloadModelRequestSchema = z.object({ model_id: z.string().min(1), type: z.string().nullish() });
export const UnloadModelResponseSchema = z.object({
  model_id: z.string(),
  type: z.literal('unload_model').nullish(),
});
export type UnloadModelResponse = z.infer<typeof UnloadModelResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Checkpoints

/** save_weights_request.py */
export const SaveWeightsRequestSchema = z.object({
  model_id: z.string().min(1),
  path: z.string().nullish(),
  seq_id: int.nullish(),
  ttl_seconds: int.nullish(),
  overwrite: z.boolean().default(false),
  type: z.literal('save_weights').optional(),
});
export type SaveWeightsRequest = z.infer<typeof SaveWeightsRequestSchema>;

/** save_weights_response.py */
export const SaveWeightsResponseSchema = z.object({
  path: z.string(),
  type: z.literal('save_weights').nullish(),
});
export type SaveWeightsResponse = z.infer<typeof SaveWeightsResponseSchema>;

/** save_weights_for_sampler_request.py */
export const SaveWeightsForSamplerRequestSchema = z.object({
  model_id: z.string().min(1),
  path: z.string().nullish(),
  sampling_session_seq_id: int.nullish(),
  seq_id: int.nullish(),
  ttl_seconds: int.nullish(),
  type: z.literal('save_weights_for_sampler').optional(),
});
export type SaveWeightsForSamplerRequest = z.infer<typeof SaveWeightsForSamplerRequestSchema>;

/** _pydantic_types/save_weights_for_sampler_response.py (the internal form, with the session id) */
export const SaveWeightsForSamplerResponseSchema = z.object({
  path: z.string(),
  sampling_session_id: z.string().nullish(),
  type: z.literal('save_weights_for_sampler').nullish(),
});
export type SaveWeightsForSamplerResponse = z.infer<typeof SaveWeightsForSamplerResponseSchema>;

/** load_weights_request.py (legacy model_id addressing, which SkyRL's server accepts). */
export const LoadWeightsRequestSchema = z.object({
  model_id: z.string().min(1),
  seq_id: int.nullish(),
  path: z.string().min(1),
  optimizer: z.boolean().default(true),
  type: z.literal('load_weights').optional(),
});
export type LoadWeightsRequest = z.infer<typeof LoadWeightsRequestSchema>;

/** _pydantic_types/load_weights_response.py */
export const LoadWeightsResponseSchema = z.object({
  path: z.string().nullish(),
  model_id: z.string().nullish(),
  type: z.literal('load_weights').nullish(),
});
export type LoadWeightsResponse = z.infer<typeof LoadWeightsResponseSchema>;

/** weights_info_response.py; the request is SkyRL api.py WeightsInfoRequest. */
export const WeightsInfoRequestSchema = z.object({ tinker_path: z.string().min(1) });
export const WeightsInfoResponseSchema = z.object({
  base_model: z.string(),
  is_lora: z.boolean(),
  lora_rank: int.nullish(),
  train_unembed: z.boolean().nullish(),
  train_mlp: z.boolean().nullish(),
  train_attn: z.boolean().nullish(),
});
export type WeightsInfoResponse = z.infer<typeof WeightsInfoResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Sampling

/** _pydantic_types/sampling_params.py: `stop` is strings or token ids. */
export const SamplingParamsSchema = z.object({
  max_tokens: int.nullish(),
  seed: int.nullish(),
  stop: z.union([z.string(), z.array(z.string()), z.array(int)]).nullish(),
  temperature: finite.nonnegative().default(1),
  top_k: int.default(-1),
  top_p: finite.gt(0).max(1).default(1),
});
export type SamplingParams = z.infer<typeof SamplingParamsSchema>;
export type SamplingParamsInput = z.input<typeof SamplingParamsSchema>;

/** sample_request.py */
export const SampleRequestSchema = z.object({
  num_samples: int.positive().default(1),
  prompt: ModelInputSchema,
  sampling_params: SamplingParamsSchema,
  base_model: z.string().nullish(),
  model_path: z.string().nullish(),
  sampling_session_id: z.string().nullish(),
  seq_id: int.nullish(),
  prompt_logprobs: z.boolean().nullish(),
  topk_prompt_logprobs: nonNegInt.default(0),
  type: z.literal('sample').optional(),
});
export type SampleRequest = z.infer<typeof SampleRequestSchema>;

/** stop_reason.py */
export const StopReasonSchema = z.enum(['length', 'stop']);
export type StopReason = z.infer<typeof StopReasonSchema>;

/** sampled_sequence.py */
export const SampledSequenceSchema = z.object({
  stop_reason: StopReasonSchema,
  tokens: z.array(int),
  logprobs: z.array(finite).nullish(),
});
export type SampledSequence = z.infer<typeof SampledSequenceSchema>;

/** One prompt position's top-k: [token id, log-prob] pairs, or null where none was computed. */
const topkRow = z.array(z.tuple([int, finite])).nullable();

/** sample_response.py (JSON form; SkyRL types.py SampleOutput). */
export const SampleResponseSchema = z.object({
  sequences: z.array(SampledSequenceSchema),
  prompt_logprobs: z.array(finite.nullable()).nullish(),
  topk_prompt_logprobs: z.array(topkRow).nullish(),
  prompt_cache_hit_tokens: nonNegInt.optional(),
  type: z.literal('sample').nullish(),
});
export type SampleResponse = z.infer<typeof SampleResponseSchema>;

/** create_sampling_session_request.py / _response.py */
export const CreateSamplingSessionRequestSchema = z.object({
  session_id: z.string().min(1),
  sampling_session_seq_id: int,
  base_model: z.string().nullish(),
  model_path: z.string().nullish(),
  type: z.literal('create_sampling_session').optional(),
});
export type CreateSamplingSessionRequest = z.infer<typeof CreateSamplingSessionRequestSchema>;
export const CreateSamplingSessionResponseSchema = z.object({
  type: z.literal('create_sampling_session').optional(),
  sampling_session_id: z.string(),
});

/** _pydantic_types/get_sampler_response.py */
export const GetSamplerResponseSchema = z.object({
  sampler_id: z.string(),
  base_model: z.string(),
  model_path: z.string().nullish(),
});
export type GetSamplerResponse = z.infer<typeof GetSamplerResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Futures

/** future_retrieve_request.py */
export const FutureRetrieveRequestSchema = z.object({
  request_id: z.string().min(1),
  allow_metadata_only: z.boolean().optional(),
});

/** shared/untyped_api_future.py; SkyRL api.py FutureResponse adds future_id and status. */
export const UntypedAPIFutureSchema = z.object({
  request_id: z.string().min(1),
  model_id: z.string().nullish(),
});
export type UntypedAPIFuture = z.infer<typeof UntypedAPIFutureSchema>;

/** try_again_response.py */
export const TryAgainResponseSchema = z.object({
  type: z.literal('try_again'),
  request_id: z.string(),
  queue_state: z.string().optional(),
  queue_state_reason: z.string().nullish(),
});
export type TryAgainResponse = z.infer<typeof TryAgainResponseSchema>;

/** request_error_category.py: StrEnum with auto(), so the values are the lower-cased names. */
export const RequestErrorCategorySchema = z.enum(['unknown', 'server', 'user']);
export type RequestErrorCategory = z.infer<typeof RequestErrorCategorySchema>;

/** request_failed_response.py */
export const RequestFailedResponseSchema = z.object({
  error: z.string(),
  category: z.string(),
});
export type RequestFailedResponse = z.infer<typeof RequestFailedResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Service

/** create_session_request.py */
export const CreateSessionRequestSchema = z.object({
  tags: z.array(z.string()).default([]),
  user_metadata: z.record(z.string(), z.unknown()).nullish(),
  sdk_version: z.string(),
  project_id: z.string().nullish(),
  type: z.literal('create_session').optional(),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;

/** create_session_response.py */
export const CreateSessionResponseSchema = z.object({
  type: z.literal('create_session').optional(),
  info_message: z.string().nullish(),
  warning_message: z.string().nullish(),
  error_message: z.string().nullish(),
  session_id: z.string().min(1),
});
export type CreateSessionResponse = z.infer<typeof CreateSessionResponseSchema>;

/** session_heartbeat_request.py / _response.py */
export const SessionHeartbeatRequestSchema = z.object({
  session_id: z.string().min(1),
  type: z.literal('session_heartbeat').optional(),
});
export const SessionHeartbeatResponseSchema = z.object({
  type: z.literal('session_heartbeat').optional(),
});

/** client_config_request.py */
export const ClientConfigRequestSchema = z.object({ sdk_version: z.string() });

/**
 * client_config_response.py, the flags this package reads, with the SDK's defaults.
 * `proto_write_fwdbwd` and `fwd_via_fwdbwd` are the SDK 0.22.3 - 0.24.1 flags (commit 6b02536):
 * a server that leaves them out is spoken to in JSON, which every server accepts.
 */
export const ClientConfigResponseSchema = z.looseObject({
  pjwt_auth_enabled: z.boolean().default(false),
  parallel_fwdbwd_chunks: z.boolean().default(true),
  proto_write_fwdbwd: z.boolean().default(false),
  fwd_via_fwdbwd: z.boolean().default(false),
  proto_compress_fwdbwd: z.boolean().default(false),
  fwdbwd_max_chunk_len: int.positive().default(1024),
  sample_no_retries: z.boolean().default(false),
});
export type ClientConfigResponse = z.infer<typeof ClientConfigResponseSchema>;

/** get_server_capabilities_response.py */
export const SupportedModelSchema = z.object({
  model_name: z.string().nullish(),
  max_context_length: int.nullish(),
});
export type SupportedModel = z.infer<typeof SupportedModelSchema>;
export const GetServerCapabilitiesResponseSchema = z.object({
  supported_models: z.array(SupportedModelSchema),
});
export type GetServerCapabilitiesResponse = z.infer<typeof GetServerCapabilitiesResponseSchema>;

/** health_response.py */
export const HealthResponseSchema = z.object({ status: z.literal('ok') });

/** SkyRL api.py: FastAPI's error body, `detail` a string or a list of validation issues. */
export const ErrorBodySchema = z.object({ detail: z.unknown() });
