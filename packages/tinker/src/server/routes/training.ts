// Model routes: create_model, get_info, unload_model, forward, forward_backward (JSON or
// protobuf), optim_step (SDK resources/models.py, resources/training.py; SkyRL api.py).
import { ModelQueue } from '../model-queue.js';
import { PROTO_CONTENT_TYPE, decodeForwardBackwardRequest } from '../../protobuf.js';
import {
  CreateModelRequestSchema,
  ForwardBackwardRequestSchema,
  ForwardRequestSchema,
  GetInfoRequestSchema,
  LoraConfigSchema,
  OptimStepRequestSchema,
  UnloadModelRequestSchema,
} from '../../types.js';
import { canonicalOutput } from '../canonical.js';
import type { FutureKind } from '../futures-table.js';
import { HttpError, parseJson, sendJson, validate } from '../http.js';
import { API, futureAnswer, type Router } from '../router.js';
import { randomId, type ModelState, type ServerState } from '../state.js';

export function trainingRoutes(router: Router, server: ServerState): void {
  const route = router.route.bind(router);

  route('POST', `${API}/create_model`, ({ res, body }) => {
    const request = validate(CreateModelRequestSchema, parseJson(body));
    server.liveSession(request.session_id);
    const loraConfig = request.lora_config ?? LoraConfigSchema.parse({ rank: 32 });
    const modelId = randomId('model', server.models);
    const model: ModelState = {
      modelId,
      sessionId: request.session_id,
      baseModel: request.base_model,
      loraConfig,
      queue: new ModelQueue({ gapTimeoutMs: server.options.seqGapTimeoutMs ?? 30_000 }),
      requests: 0,
      status: 'created',
      seen: new Map(),
    };
    server.models.set(modelId, model);
    const entry = server.futures.create('create_model');
    model.queue.enqueue(
      undefined,
      server.job(entry, `create_model ${modelId}`, async () => {
        await server.backend.createModel({
          modelId,
          baseModel: request.base_model,
          loraConfig,
          ...(request.user_metadata ? { userMetadata: request.user_metadata } : {}),
        });
        return { model_id: modelId, type: 'create_model' };
      }),
    );
    sendJson(res, 200, {
      model_id: modelId,
      base_model: request.base_model,
      lora_config: loraConfig,
      status: 'created',
      request_id: entry.id,
    });
  });

  route('POST', `${API}/get_info`, ({ res, body }) => {
    const model = server.getModel(validate(GetInfoRequestSchema, parseJson(body)).model_id);
    sendJson(res, 200, {
      type: 'get_info',
      model_id: model.modelId,
      status: model.status,
      model_data: {
        base_model: model.baseModel,
        model_name: model.baseModel,
        lora_config: { rank: model.loraConfig.rank },
      },
      is_lora: true,
      lora_rank: model.loraConfig.rank,
      model_name: model.baseModel,
    });
  });

  route('POST', `${API}/unload_model`, ({ res, body }) => {
    const model = server.getModel(validate(UnloadModelRequestSchema, parseJson(body)).model_id);
    model.status = 'unloading';
    const id = server.modelFuture(model, 'unload_model', undefined, {}, async () => {
      await server.backend.unloadModel(model.modelId);
      model.status = 'unloaded';
      model.queue.dispose();
      return { model_id: model.modelId, type: 'unload_model' };
    });
    sendJson(res, 200, { request_id: id, model_id: model.modelId });
  });

  route('POST', `${API}/forward_backward`, ({ req, res, body }) => {
    const encoding = String(req.headers['content-encoding'] ?? '')
      .trim()
      .toLowerCase();
    if (encoding !== '' && encoding !== 'identity')
      throw new HttpError(
        415,
        `Content-Encoding ${encoding} is not supported (client config proto_compress_fwdbwd is false)`,
      );
    let request;
    let forwardOnly = false;
    if (
      String(req.headers['content-type'] ?? '')
        .toLowerCase()
        .includes(PROTO_CONTENT_TYPE)
    ) {
      try {
        ({ request, forwardOnly } = decodeForwardBackwardRequest(body));
      } catch (error) {
        throw new HttpError(422, `Invalid proto forward_backward body: ${(error as Error).message}`);
      }
    } else {
      request = validate(ForwardBackwardRequestSchema, parseJson(body));
    }
    const model = server.getModel(request.model_id);
    const { data, config } = server.fwdInput(request.forward_backward_input);
    const lossFn = request.forward_backward_input.loss_fn;
    const kind: FutureKind = forwardOnly ? 'forward' : 'forward_backward';
    const id = server.modelFuture(model, kind, request.seq_id, request.forward_backward_input, async () =>
      canonicalOutput(
        forwardOnly
          ? await server.backend.forward(model.modelId, data, lossFn, config)
          : await server.backend.forwardBackward(model.modelId, data, lossFn, config),
      ),
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/forward`, ({ res, body }) => {
    const request = validate(ForwardRequestSchema, parseJson(body));
    const model = server.getModel(request.model_id);
    const { data, config } = server.fwdInput(request.forward_input);
    const lossFn = request.forward_input.loss_fn;
    const id = server.modelFuture(model, 'forward', request.seq_id, request.forward_input, async () =>
      canonicalOutput(await server.backend.forward(model.modelId, data, lossFn, config)),
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/optim_step`, ({ res, body }) => {
    const request = validate(OptimStepRequestSchema, parseJson(body));
    const model = server.getModel(request.model_id);
    const id = server.modelFuture(model, 'optim_step', request.seq_id, request.adam_params, async () => {
      const out = await server.backend.optimStep(model.modelId, request.adam_params);
      return { metrics: out.metrics ?? null };
    });
    futureAnswer(res, id, model.modelId);
  });
}
