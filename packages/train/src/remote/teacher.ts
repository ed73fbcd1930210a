// A teacher at a training service (models.teacher: tinker://BASE_MODEL): teacher-forced log-probs
// of the student's tokens come from the service's sampler with prompt_logprobs, as
// tinker-cookbook's on-policy distillation gets them (compute_logprobs on the prompt followed by
// the sampled tokens). The renderer turns [full image, crop, question] + response into one model
// input; response token k sits at position promptTokenCount + k of it, and prompt_logprobs[p] is
// the log-prob of the token at p given everything before it.
import { InvalidInputError } from '@vzero/core';
import type { Policy, Prompt, SampledResponse, ScoreRequest, ScoreResult } from '@vzero/core';
import { ModelInputBuilder, type Renderer } from '@vzero/renderers';
import type { SamplingClient, ServiceClient } from '@vzero/tinker';

export class TinkerTeacherPolicy implements Policy {
  readonly name: string;
  readonly tokenizerId: string;
  readonly contextLength = Number.MAX_SAFE_INTEGER;

  private constructor(
    private readonly sampler: SamplingClient,
    private readonly renderer: Renderer,
    readonly baseModel: string,
  ) {
    this.name = `tinker teacher ${baseModel}`;
    this.tokenizerId = renderer.tokenizerId;
  }

  static async connect(
    service: ServiceClient,
    baseModel: string,
    renderer: Renderer,
  ): Promise<TinkerTeacherPolicy> {
    return new TinkerTeacherPolicy(await service.createSamplingClient({ baseModel }), renderer, baseModel);
  }

  /** Log-probs of each request's response tokens; every request is submitted before any is read. */
  async score(
    requests: readonly ScoreRequest[],
    options: { readonly topK?: number } = {},
  ): Promise<ScoreResult[]> {
    if ((options.topK ?? 0) > 0) {
      throw new InvalidInputError(
        'topK',
        options.topK,
        'a teacher at a training service gives one log-prob per token',
      );
    }
    const jobs = requests.map((r, i) => {
      if (r.responseTokenIds.length === 0) return undefined;
      const rendered = this.renderer.render(r.prompt);
      const builder = new ModelInputBuilder();
      for (const c of rendered.modelInput.chunks) {
        if (c.type === 'encoded_text') builder.text(c.tokens);
        else builder.image(c);
      }
      const input = builder.text([...r.responseTokenIds]).build();
      return {
        start: rendered.promptTokenCount,
        n: r.responseTokenIds.length,
        input,
        field: `requests[${i}]`,
      };
    });
    const futures = await Promise.all(
      jobs.map((j) =>
        j
          ? this.sampler.submitSample({
              prompt: j.input as never,
              numSamples: 1,
              samplingParams: { max_tokens: 1, temperature: 1, seed: 0 },
              includePromptLogprobs: true,
            })
          : undefined,
      ),
    );
    const results = await Promise.all(futures.map((f) => f?.result()));
    return results.map((res, i) => {
      const job = jobs[i];
      if (!job || !res) return { logprobs: new Float32Array(0) };
      const lp = res.prompt_logprobs;
      if (!lp || lp.length < job.start + job.n) {
        throw new InvalidInputError(
          `${job.field}: prompt_logprobs`,
          lp?.length,
          `the service must return one per input position (${job.start + job.n})`,
        );
      }
      return {
        logprobs: Float32Array.from({ length: job.n }, (_, k) => {
          const v = lp[job.start + k];
          if (typeof v !== 'number') {
            throw new InvalidInputError(
              `${job.field}: prompt_logprobs[${job.start + k}]`,
              v,
              'expected a number',
            );
          }
          return v;
        }),
      };
    });
  }

  sample(_prompts: readonly Prompt[]): Promise<SampledResponse[][]> {
    return Promise.reject(
      new InvalidInputError('policy', this.name, 'the teacher scores; the student samples'),
    );
  }

  decode(tokenIds: readonly number[]): string {
    return this.renderer.decode(tokenIds);
  }
}
