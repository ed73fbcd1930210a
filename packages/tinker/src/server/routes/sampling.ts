// Sampling routes: sampling sessions, samplers/{id}, asample (SDK resources/sampling.py,
// types/sample_request.py; SkyRL api.py asample, get_sampler, create_sampling_session).
import { CreateSamplingSessionRequestSchema, SampleRequestSchema } from '../../types.js';
import type { CheckpointRef } from '../backend.js';
import { canonicalSample } from '../canonical.js';
import { HttpError, parseJson, sendJson, validate } from '../http.js';
import { checkpointRef, parseTinkerPath } from '../paths.js';
import { API, futureAnswer, type Router } from '../router.js';
import { randomId, type ServerState } from '../state.js';

export function samplingRoutes(router: Router, server: ServerState): void {
  const route = router.route.bind(router);

  route('POST', `${API}/create_sampling_session`, ({ res, body }) => {
    const request = validate(CreateSamplingSessionRequestSchema, parseJson(body));
    server.liveSession(request.session_id);
    if ((request.base_model == null) === (request.model_path == null))
      throw new HttpError(400, 'Exactly one of base_model or model_path must be provided');
    const id = randomId('sampling', server.samplers);
    server.samplers.set(id, {
      sessionId: request.session_id,
      baseModel: request.base_model ?? undefined,
      modelPath: request.model_path ?? undefined,
    });
    sendJson(res, 200, { type: 'create_sampling_session', sampling_session_id: id });
  });

  route('GET', `${API}/samplers/:id`, async ({ res, params }) => {
    const sampler = server.samplers.get(params.id!);
    if (!sampler) throw new HttpError(404, 'Sampler not found');
    let baseModel = sampler.baseModel;
    if (baseModel === undefined && sampler.modelPath) {
      const p = parseTinkerPath(sampler.modelPath);
      baseModel = p
        ? (server.models.get(p.modelId)?.baseModel ??
          (await server.findCheckpoint(checkpointRef(p.modelId, 'sampler_weights', p.name)))?.baseModel)
        : undefined;
    }
    sendJson(res, 200, {
      sampler_id: params.id,
      base_model: baseModel ?? '',
      model_path: sampler.modelPath ?? null,
    });
  });

  route('POST', `${API}/asample`, async ({ res, body }) => {
    const raw = parseJson(body);
    const request = validate(SampleRequestSchema, raw);
    let baseModel = request.base_model ?? undefined;
    let modelPath = request.model_path ?? undefined;
    if (request.sampling_session_id != null) {
      if (request.seq_id == null)
        throw new HttpError(422, [
          {
            type: 'value_error',
            loc: ['body'],
            msg: "'seq_id' must be provided when 'sampling_session_id' is used",
          },
        ]);
      const sampler = server.samplers.get(request.sampling_session_id);
      if (!sampler) throw new HttpError(404, 'Sampling session not found');
      baseModel = sampler.baseModel;
      modelPath = sampler.modelPath;
    } else if ((baseModel === undefined) === (modelPath === undefined)) {
      throw new HttpError(422, [
        {
          type: 'value_error',
          loc: ['body'],
          msg: "When 'sampling_session_id' is not provided, exactly one of 'base_model' or 'model_path' must be provided",
        },
      ]);
    }
    const params = request.sampling_params;
    if (params.max_tokens == null) throw new HttpError(400, 'max_tokens is currently required');
    if (params.max_tokens <= 0) throw new HttpError(400, 'max_tokens must be a positive number');
    let source: { baseModel: string } | { checkpoint: CheckpointRef };
    if (modelPath !== undefined) {
      const p = parseTinkerPath(modelPath);
      if (!p || (p.kind !== '' && p.kind !== 'sampler_weights'))
        throw new HttpError(
          400,
          'model_path must be tinker://model_id/checkpoint_id or tinker://model_id/sampler_weights/checkpoint_id',
        );
      const state = await server.readyCheckpoint(checkpointRef(p.modelId, 'sampler_weights', p.name));
      source = { checkpoint: state.ref };
    } else {
      source = { baseModel: baseModel! };
    }
    const entry = server.futures.create('sample');
    // Sampling changes no model: its jobs run at once, side by side.
    void server.job(entry, 'sample', async () =>
      canonicalSample(
        await server.backend.sample({
          source,
          prompt: request.prompt,
          params,
          numSamples: request.num_samples,
          promptLogprobs: Boolean(request.prompt_logprobs) || request.topk_prompt_logprobs > 0,
          topkPromptLogprobs: request.topk_prompt_logprobs,
        }),
      ),
    )();
    futureAnswer(res, entry.id);
  });
}
