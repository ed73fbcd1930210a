// Checkpoint routes: save_weights, save_weights_for_sampler, load_weights, weights_info (SDK
// resources/weights.py, types/save_weights*_request.py, load_weights_request.py; SkyRL api.py).
import {
  LoadWeightsRequestSchema,
  SaveWeightsForSamplerRequestSchema,
  SaveWeightsRequestSchema,
  WeightsInfoRequestSchema,
} from '../../types.js';
import { HttpError, parseJson, sendJson, validate } from '../http.js';
import { ID_PATTERN, checkpointRef, parseTinkerPath } from '../paths.js';
import { API, futureAnswer, type Router } from '../router.js';
import { randomId, type ServerState } from '../state.js';

export function checkpointRoutes(router: Router, server: ServerState): void {
  const route = router.route.bind(router);

  route('POST', `${API}/save_weights`, ({ res, body }) => {
    const request = validate(SaveWeightsRequestSchema, parseJson(body));
    const model = server.getModel(request.model_id);
    const name = request.path ?? `checkpoint_${Date.now()}`;
    if (!ID_PATTERN.test(name))
      throw new HttpError(422, [
        {
          type: 'string_pattern_mismatch',
          loc: ['body', 'path'],
          msg: `String should match pattern '${ID_PATTERN.source}'`,
        },
      ]);
    const state = server.newCheckpoint(model, 'weights', name, request.overwrite);
    const id = server.modelFuture(model, 'save_weights', request.seq_id, { path: name }, async () => {
      await server.saving(state, () => server.backend.saveWeights(model.modelId, state.ref));
      return { path: state.ref.path, type: 'save_weights' };
    });
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/save_weights_for_sampler`, ({ res, body }) => {
    const request = validate(SaveWeightsForSamplerRequestSchema, parseJson(body));
    const model = server.getModel(request.model_id);
    const seq = request.sampling_session_seq_id;
    if (
      !request.path &&
      (seq === undefined || seq === null || request.seq_id === undefined || request.seq_id === null)
    )
      throw new HttpError(422, [
        {
          type: 'value_error',
          loc: ['body'],
          msg: "Either 'path' or both 'sampling_session_seq_id' and 'seq_id' must be provided",
        },
      ]);
    const name = request.path ?? `ss${seq}_seq${request.seq_id}`;
    if (!ID_PATTERN.test(name))
      throw new HttpError(422, [
        {
          type: 'string_pattern_mismatch',
          loc: ['body', 'path'],
          msg: `String should match pattern '${ID_PATTERN.source}'`,
        },
      ]);
    const state = server.newCheckpoint(model, 'sampler_weights', name, false);
    let samplingSessionId: string | undefined;
    if (seq !== undefined && seq !== null) {
      samplingSessionId = randomId('sampling', server.samplers);
      server.samplers.set(samplingSessionId, {
        sessionId: model.sessionId,
        baseModel: undefined,
        modelPath: state.ref.path,
      });
    }
    const id = server.modelFuture(
      model,
      'save_weights_for_sampler',
      request.seq_id,
      { path: name, seq },
      async () => {
        await server.saving(state, () => server.backend.saveWeightsForSampler(model.modelId, state.ref));
        return {
          path: state.ref.path,
          type: 'save_weights_for_sampler',
          ...(samplingSessionId ? { sampling_session_id: samplingSessionId } : {}),
        };
      },
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/load_weights`, async ({ res, body }) => {
    const request = validate(LoadWeightsRequestSchema, parseJson(body));
    const model = server.getModel(request.model_id);
    if (model.requests > 0)
      throw new HttpError(
        400,
        `LoadWeights is not permitted with seq_id ${request.seq_id ?? model.requests + 1}`,
      );
    const path = parseTinkerPath(request.path);
    if (!path || path.kind !== 'weights')
      throw new HttpError(
        400,
        'request.path must be in format tinker://source_model_id/weights/checkpoint_id',
      );
    const ref = checkpointRef(path.modelId, 'weights', path.name);
    await server.readyCheckpoint(ref);
    const id = server.modelFuture(
      model,
      'load_weights',
      request.seq_id,
      { path: request.path, optimizer: request.optimizer },
      async () => {
        await server.backend.loadWeights(model.modelId, ref, { optimizer: request.optimizer });
        return { path: ref.path, model_id: model.modelId, type: 'load_weights' };
      },
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/weights_info`, async ({ res, body }) => {
    const request = validate(WeightsInfoRequestSchema, parseJson(body));
    const path = parseTinkerPath(request.tinker_path);
    if (!path || (path.kind !== 'weights' && path.kind !== 'sampler_weights'))
      throw new HttpError(
        400,
        'Invalid tinker path format. Expected: tinker://model_id/weights/checkpoint_id',
      );
    const state = await server.readyCheckpoint(checkpointRef(path.modelId, path.kind, path.name));
    sendJson(res, 200, { base_model: state.baseModel, is_lora: true, lora_rank: state.loraRank });
  });
}
