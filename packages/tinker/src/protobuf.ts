// The protobuf wire encoding (proto/tinker_public.proto) of the messages the SDK sends or asks
// for in protobuf: ForwardBackwardRequest (request body), ForwardBackwardOutput and
// SampleResponse (retrieve_future results). Mirrors the SDK's src/tinker/proto/request_conv.py
// and response_conv.py (d595dc2b, SDK 0.25.0) and SkyRL's skyrl/tinker/proto_serialization.py
// (a9564572): token ids as little-endian int32 bytes, float tensors as float32 bytes, int64
// tensors and offsets as int64 bytes, undefined prompt log-probs as NaN, empty top-k cells as
// (token 0, log-prob -99999).
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { InvalidInputError } from '@vzero/core';
import {
  BatchedTensorSchema,
  ChunkSchema,
  DType,
  DatumSchema as PbDatumSchema,
  ForwardBackwardOutputSchema as PbForwardBackwardOutputSchema,
  ForwardBackwardRequestSchema as PbForwardBackwardRequestSchema,
  SampleResponseSchema as PbSampleResponseSchema,
  SampledSequenceSchema as PbSampledSequenceSchema,
  StopReason as PbStopReason,
  TensorSchema,
  TopkPromptLogprobsSchema,
  type Chunk,
  type Tensor,
} from './gen/tinker_public_pb.js';
import { denseValues } from './model-input.js';
import {
  ForwardBackwardRequestSchema,
  LossFnTypeSchema,
  type ForwardBackwardOutput,
  type ForwardBackwardRequest,
  type ModelInputChunk,
  type SampleResponse,
  type TensorData,
  type TensorDtype,
} from './types.js';
import { parseWire } from './validate.js';

export const PROTO_CONTENT_TYPE = 'application/x-protobuf';

/** The sentinel of an empty top-k cell (sample_response.py MASK_LOGPROB). */
export const MASK_LOGPROB = -99999.0;

// ---------------------------------------------------------------------------------------------
// Little-endian packed arrays

function packInt32(values: readonly number[], field: string): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff)
      throw new InvalidInputError(`${field}[${i}]`, v, 'not an int32');
    view.setInt32(i * 4, v, true);
  });
  return out;
}

function packFloat32(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function packInt64(values: readonly number[], field: string): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (!Number.isSafeInteger(v))
      throw new InvalidInputError(`${field}[${i}]`, v, 'not an integer an int64 can hold exactly');
    view.setBigInt64(i * 8, BigInt(v), true);
  });
  return out;
}

function view(bytes: Uint8Array, itemSize: number, field: string): DataView {
  if (bytes.byteLength % itemSize !== 0)
    throw new InvalidInputError(field, bytes.byteLength, `byte length is not a multiple of ${itemSize}`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function unpackInt32(bytes: Uint8Array, field: string): number[] {
  const v = view(bytes, 4, field);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getInt32(i * 4, true));
}

function unpackFloat32(bytes: Uint8Array, field: string): number[] {
  const v = view(bytes, 4, field);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getFloat32(i * 4, true));
}

function unpackInt64(bytes: Uint8Array, field: string): number[] {
  const v = view(bytes, 8, field);
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => {
    const big = v.getBigInt64(i * 8, true);
    const n = Number(big);
    if (!Number.isSafeInteger(n))
      throw new InvalidInputError(`${field}[${i}]`, `${big}n`, 'int64 beyond 2^53');
    return n;
  });
}

/** bfloat16 is the upper half of a float32 (response_conv.py). */
function unpackBfloat16(bytes: Uint8Array, field: string): number[] {
  const v = view(bytes, 2, field);
  const f = new DataView(new ArrayBuffer(4));
  return Array.from({ length: bytes.byteLength / 2 }, (_, i) => {
    f.setUint32(0, v.getUint16(i * 2, true) << 16, false);
    return f.getFloat32(0, false);
  });
}

function unpack(bytes: Uint8Array, dtype: DType, field: string): { values: number[]; dtype: TensorDtype } {
  switch (dtype) {
    case DType.DTYPE_FLOAT32:
      return { values: unpackFloat32(bytes, field), dtype: 'float32' };
    case DType.DTYPE_BFLOAT16:
      return { values: unpackBfloat16(bytes, field), dtype: 'float32' };
    case DType.DTYPE_INT64:
      return { values: unpackInt64(bytes, field), dtype: 'int64' };
    case DType.DTYPE_INT32:
      return { values: unpackInt32(bytes, field), dtype: 'int64' };
    default:
      throw new InvalidInputError(`${field}.dtype`, dtype, 'unsupported DType');
  }
}

function itemSize(dtype: DType): number {
  return dtype === DType.DTYPE_INT64 ? 8 : dtype === DType.DTYPE_BFLOAT16 ? 2 : 4;
}

function pack(values: readonly number[], dtype: TensorDtype, field: string): Uint8Array {
  return dtype === 'int64' ? packInt64(values, field) : packFloat32(values);
}

const PB_DTYPE: Record<TensorDtype, DType> = { float32: DType.DTYPE_FLOAT32, int64: DType.DTYPE_INT64 };

// ---------------------------------------------------------------------------------------------
// ForwardBackwardRequest

function tensorToProto(td: TensorData, field: string): Tensor {
  const shape = (td.shape ?? [td.data.length]).map((d) => BigInt(d));
  if (td.sparse_crow_indices) {
    if (!td.sparse_col_indices)
      throw new InvalidInputError(
        `${field}.sparse_col_indices`,
        undefined,
        'required with sparse_crow_indices',
      );
    return create(TensorSchema, {
      dtype: PB_DTYPE[td.dtype],
      shape,
      encoding: {
        case: 'sparseCsr',
        value: {
          values: pack(td.data, td.dtype, `${field}.data`),
          crowIndices: packInt64(td.sparse_crow_indices, `${field}.sparse_crow_indices`),
          colIndices: packInt64(td.sparse_col_indices, `${field}.sparse_col_indices`),
        },
      },
    });
  }
  return create(TensorSchema, {
    dtype: PB_DTYPE[td.dtype],
    shape,
    encoding: { case: 'dense', value: pack(td.data, td.dtype, `${field}.data`) },
  });
}

function tensorFromProto(t: Tensor, field: string): TensorData {
  const shape = t.shape.map((d) => Number(d));
  switch (t.encoding.case) {
    case 'dense': {
      const { values, dtype } = unpack(t.encoding.value, t.dtype, `${field}.dense`);
      return { data: values, dtype, shape: shape.length > 0 ? shape : [values.length] };
    }
    case 'sparseCsr': {
      const csr = t.encoding.value;
      const { values, dtype } = unpack(csr.values, t.dtype, `${field}.sparse_csr.values`);
      const sparse: TensorData = {
        data: values,
        dtype,
        shape,
        sparse_crow_indices: unpackInt64(csr.crowIndices, `${field}.sparse_csr.crow_indices`),
        sparse_col_indices: unpackInt64(csr.colIndices, `${field}.sparse_csr.col_indices`),
      };
      return { data: denseValues(sparse, field), dtype, shape };
    }
    default:
      throw new InvalidInputError(`${field}.encoding`, undefined, 'a tensor needs dense or sparse_csr');
  }
}

function chunkToProto(chunk: ModelInputChunk, field: string): Chunk {
  switch (chunk.type) {
    case 'encoded_text':
      return create(ChunkSchema, {
        chunk: { case: 'encodedText', value: { tokens: packInt32(chunk.tokens, `${field}.tokens`) } },
      });
    case 'image':
      return create(ChunkSchema, {
        chunk: {
          case: 'image',
          value: {
            data: Buffer.from(chunk.data, 'base64'),
            format: chunk.format,
            ...(chunk.expected_tokens === undefined || chunk.expected_tokens === null
              ? {}
              : { expectedTokens: chunk.expected_tokens }),
          },
        },
      });
    case 'dmel':
      return create(ChunkSchema, {
        chunk: { case: 'dmel', value: { dmel: Buffer.from(chunk.dmel, 'base64') } },
      });
    case 'image_asset_pointer':
      // request_conv.py has no proto form for it either; callers fall back to JSON.
      throw new InvalidInputError(`${field}.type`, chunk.type, 'has no protobuf encoding (send JSON)');
  }
}

function chunkFromProto(chunk: Chunk, field: string): ModelInputChunk {
  switch (chunk.chunk.case) {
    case 'encodedText':
      return {
        type: 'encoded_text',
        tokens: unpackInt32(chunk.chunk.value.tokens, `${field}.encoded_text.tokens`),
      };
    case 'image': {
      const img = chunk.chunk.value;
      if (img.format !== 'png' && img.format !== 'jpeg')
        throw new InvalidInputError(`${field}.image.format`, img.format, 'expected "png" or "jpeg"');
      return {
        type: 'image',
        data: Buffer.from(img.data).toString('base64'),
        format: img.format,
        ...(img.expectedTokens === undefined ? {} : { expected_tokens: img.expectedTokens }),
      };
    }
    case 'dmel':
      return { type: 'dmel', dmel: Buffer.from(chunk.chunk.value.dmel).toString('base64') };
    default:
      throw new InvalidInputError(`${field}.chunk`, undefined, 'an empty chunk');
  }
}

/** True when every chunk of the request has a protobuf form (image_asset_pointer has none). */
export function hasProtoEncoding(request: ForwardBackwardRequest): boolean {
  return request.forward_backward_input.data.every((d) =>
    d.model_input.chunks.every((c) => c.type !== 'image_asset_pointer'),
  );
}

/** A ForwardBackwardRequest as protobuf bytes (request_conv.py forward_backward_request_to_proto). */
export function encodeForwardBackwardRequest(
  request: ForwardBackwardRequest,
  forwardOnly = false,
): Uint8Array {
  const input = request.forward_backward_input;
  const msg = create(PbForwardBackwardRequestSchema, {
    modelId: request.model_id,
    // Non-optional on the wire; the SDK sends 0 for "none".
    seqId: request.seq_id ?? 0,
    lossFn: input.loss_fn,
    lossFnConfig: { ...(input.loss_fn_config ?? {}) },
    forwardOnly,
    data: input.data.map((d, i) =>
      create(PbDatumSchema, {
        modelInput: d.model_input.chunks.map((c, j) =>
          chunkToProto(c, `data[${i}].model_input.chunks[${j}]`),
        ),
        lossFnInputs: Object.fromEntries(
          Object.entries(d.loss_fn_inputs).map(([k, td]) => [
            k,
            tensorToProto(td, `data[${i}].loss_fn_inputs.${k}`),
          ]),
        ),
      }),
    ),
  });
  return toBinary(PbForwardBackwardRequestSchema, msg);
}

/** The inverse (SkyRL proto_serialization.py parse_forward_backward_request), validated. */
export function decodeForwardBackwardRequest(bytes: Uint8Array): {
  request: ForwardBackwardRequest;
  forwardOnly: boolean;
} {
  let msg;
  try {
    msg = fromBinary(PbForwardBackwardRequestSchema, bytes);
  } catch (error) {
    throw new InvalidInputError(
      'body',
      `${bytes.byteLength} bytes`,
      `not a ForwardBackwardRequest: ${(error as Error).message}`,
    );
  }
  const lossFn = parseWire(LossFnTypeSchema, msg.lossFn, 'loss_fn');
  const config = Object.keys(msg.lossFnConfig).length > 0 ? { ...msg.lossFnConfig } : null;
  const request = parseWire(
    ForwardBackwardRequestSchema,
    {
      model_id: msg.modelId,
      seq_id: msg.seqId === 0 ? null : msg.seqId,
      forward_backward_input: {
        loss_fn: lossFn,
        loss_fn_config: config,
        data: msg.data.map((d, i) => ({
          model_input: {
            chunks: d.modelInput.map((c, j) => chunkFromProto(c, `data[${i}].model_input.chunks[${j}]`)),
          },
          loss_fn_inputs: Object.fromEntries(
            Object.entries(d.lossFnInputs).map(([k, t]) => [
              k,
              tensorFromProto(t, `data[${i}].loss_fn_inputs.${k}`),
            ]),
          ),
        })),
      },
    },
    'body',
  );
  return { request, forwardOnly: msg.forwardOnly };
}

// ---------------------------------------------------------------------------------------------
// ForwardBackwardOutput

/** Per-datum output tensors as one batched record per field (proto_serialization.py). */
export function encodeForwardBackwardOutput(output: ForwardBackwardOutput): Uint8Array {
  const msg = create(PbForwardBackwardOutputSchema, {
    lossFnOutputType: output.loss_fn_output_type,
    metrics: { ...output.metrics },
  });
  const outs = output.loss_fn_outputs;
  if (outs.length > 0) {
    const names = [...new Set(outs.flatMap((o) => Object.keys(o)))];
    const fields: Record<string, ReturnType<typeof create<typeof BatchedTensorSchema>>> = {};
    for (const name of names) {
      const tensors = outs.map((o) => o[name]);
      const present = tensors.filter((t): t is TensorData => t !== undefined);
      const dtypes = new Set(present.map((t) => t.dtype));
      if (dtypes.size > 1)
        throw new InvalidInputError(
          `loss_fn_outputs[*].${name}.dtype`,
          [...dtypes],
          'mixed dtypes across datums',
        );
      const dtype: TensorDtype = dtypes.values().next().value ?? 'float32';
      const trailing = new Set(present.map((t) => JSON.stringify((t.shape ?? [t.data.length]).slice(1))));
      if (trailing.size > 1)
        throw new InvalidInputError(
          `loss_fn_outputs[*].${name}.shape`,
          [...trailing],
          'datums differ beyond the leading dimension',
        );
      const trailingShape = JSON.parse(trailing.values().next().value ?? '[]') as number[];
      const arrays = tensors.map((t, i) =>
        pack(
          t ? denseValues(t, `loss_fn_outputs[${i}].${name}`) : [],
          dtype,
          `loss_fn_outputs[${i}].${name}`,
        ),
      );
      const offsets = [0];
      for (const a of arrays) offsets.push(offsets[offsets.length - 1]! + a.byteLength);
      const data = new Uint8Array(offsets[offsets.length - 1]!);
      arrays.forEach((a, i) => data.set(a, offsets[i]!));
      fields[name] = create(BatchedTensorSchema, {
        data,
        offsets: packInt64(offsets, 'offsets'),
        dtype: PB_DTYPE[dtype],
        trailingShape: trailingShape.map((d) => BigInt(d)),
      });
    }
    msg.lossFnOutputs.push({
      $typeName: 'tinker_public.ArrayRecord',
      typeTag: '',
      fields,
      numDatums: BigInt(outs.length),
    });
  }
  return toBinary(PbForwardBackwardOutputSchema, msg);
}

/** The inverse (response_conv.py deserialize_forward_backward_output). */
export function decodeForwardBackwardOutput(bytes: Uint8Array): ForwardBackwardOutput {
  const msg = fromBinary(PbForwardBackwardOutputSchema, bytes);
  const metrics = { ...msg.metrics };
  const className = msg.lossFnOutputType.split(':').pop() ?? '';
  if (msg.lossFnOutputs.length === 0)
    return { loss_fn_output_type: msg.lossFnOutputType || 'ArrayRecord', loss_fn_outputs: [], metrics };
  const perField = new Map<string, TensorData[]>();
  let numDatums = 0;
  for (const record of msg.lossFnOutputs) {
    numDatums += Number(record.numDatums);
    for (const [name, bt] of Object.entries(record.fields)) {
      const size = itemSize(bt.dtype);
      const offsets = unpackInt64(bt.offsets, `${name}.offsets`);
      const trailing = bt.trailingShape.map((d) => Number(d));
      const per = trailing.reduce((a, b) => a * b, 1);
      const list = perField.get(name) ?? [];
      for (let i = 0; i + 1 < offsets.length; i++) {
        const slice = bt.data.subarray(offsets[i]!, offsets[i + 1]!);
        if (slice.byteLength % size !== 0)
          throw new InvalidInputError(`${name}.offsets[${i}]`, offsets[i], 'not on an element boundary');
        const { values, dtype } = unpack(slice, bt.dtype, `${name}.data`);
        const leading = per === 0 ? 0 : Math.floor(values.length / per);
        list.push({ data: values, dtype, shape: [leading, ...trailing] });
      }
      perField.set(name, list);
    }
  }
  if (numDatums === 0 && perField.size > 0) numDatums = perField.values().next().value!.length;
  const loss_fn_outputs = Array.from({ length: numDatums }, (_, i) => {
    const datum: Record<string, TensorData> = {};
    for (const [name, list] of perField) {
      const t = list[i];
      if (t) datum[name] = t;
    }
    return datum;
  });
  return { loss_fn_output_type: className, loss_fn_outputs, metrics };
}

// ---------------------------------------------------------------------------------------------
// SampleResponse

const STOP_TO_PB = { stop: PbStopReason.STOP, length: PbStopReason.LENGTH } as const;

/** A SampleResponse as protobuf bytes (proto_serialization.py _serialize_sample_output). */
export function encodeSampleResponse(response: SampleResponse): Uint8Array {
  const msg = create(PbSampleResponseSchema, {
    sequences: response.sequences.map((s, i) =>
      create(PbSampledSequenceSchema, {
        stopReason: STOP_TO_PB[s.stop_reason],
        tokens: packInt32(s.tokens, `sequences[${i}].tokens`),
        ...(s.logprobs ? { logprobs: packFloat32(s.logprobs) } : {}),
      }),
    ),
    promptCacheHitTokens: response.prompt_cache_hit_tokens ?? 0,
  });
  if (response.prompt_logprobs)
    msg.promptLogprobs = packFloat32(response.prompt_logprobs.map((v) => (v === null ? NaN : v)));
  if (response.topk_prompt_logprobs) {
    const rows = response.topk_prompt_logprobs;
    const k = Math.max(1, ...rows.map((r) => (r ? r.length : 0)));
    const ids = new Array<number>(rows.length * k).fill(0);
    const lps = new Array<number>(rows.length * k).fill(MASK_LOGPROB);
    rows.forEach((row, i) =>
      (row ?? []).forEach(([id, lp], j) => {
        ids[i * k + j] = id;
        lps[i * k + j] = lp;
      }),
    );
    msg.topkPromptLogprobs = create(TopkPromptLogprobsSchema, {
      tokenIds: packInt32(ids, 'topk_prompt_logprobs.token_ids'),
      logprobs: packFloat32(lps),
      k,
      promptLength: rows.length,
    });
  }
  return toBinary(PbSampleResponseSchema, msg);
}

/** The inverse (response_conv.py deserialize_sample_response). */
export function decodeSampleResponse(bytes: Uint8Array): SampleResponse {
  const msg = fromBinary(PbSampleResponseSchema, bytes);
  const out: SampleResponse = {
    sequences: msg.sequences.map((s, i) => ({
      stop_reason: s.stopReason === PbStopReason.LENGTH ? 'length' : 'stop',
      tokens: unpackInt32(s.tokens, `sequences[${i}].tokens`),
      logprobs:
        s.logprobs && s.logprobs.byteLength > 0
          ? unpackFloat32(s.logprobs, `sequences[${i}].logprobs`)
          : null,
    })),
    prompt_cache_hit_tokens: msg.promptCacheHitTokens,
  };
  if (msg.promptLogprobs && msg.promptLogprobs.byteLength > 0)
    out.prompt_logprobs = unpackFloat32(msg.promptLogprobs, 'prompt_logprobs').map((v) =>
      Number.isNaN(v) ? null : v,
    );
  const topk = msg.topkPromptLogprobs;
  if (topk && topk.k > 0 && topk.promptLength > 0) {
    const ids = unpackInt32(topk.tokenIds, 'topk_prompt_logprobs.token_ids');
    const lps = unpackFloat32(topk.logprobs, 'topk_prompt_logprobs.logprobs');
    const k = topk.k;
    out.topk_prompt_logprobs = Array.from({ length: topk.promptLength }, (_, i) => {
      let end = (i + 1) * k;
      const start = i * k;
      while (end > start && ids[end - 1] === 0 && lps[end - 1] === MASK_LOGPROB) end--;
      if (end === start) return null;
      const row: [number, number][] = [];
      for (let j = start; j < end; j++) row.push([ids[j]!, lps[j]!]);
      return row;
    });
  }
  return out;
}
