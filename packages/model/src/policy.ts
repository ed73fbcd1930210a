// LocalPolicy: the core Policy contract over a local model + tokenizer. Prompts are batched; the
// image prefix of each distinct image chain is encoded once and shared by all rollouts of its
// prompt (and, for the teacher, the full image by both views); the prompt text is prefilled
// once per prompt and its cache copied to the G rollouts.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, Rng, checkSamplingOptions, deriveSeed } from '@vzero/core';
import type {
  Policy,
  Prompt,
  SampledResponse,
  SamplingOptions,
  ScoreRequest,
  ScoreResult,
} from '@vzero/core';
import type { ModelPrompt, ResponseBatch, VisionLanguageModel } from './model.js';
import { chooseToken } from './sampling.js';
import { largestK } from './top-k.js';
import type { Tokenizer } from './tokenizer.js';

export interface LocalPolicyOptions {
  readonly name?: string;
  /** Decode with the KV cache (default true); false recomputes every step from scratch. */
  readonly useCache?: boolean;
  /** Share encoded image prefixes and prompt prefill across rows (default true). */
  readonly sharePrefix?: boolean;
}

export class LocalPolicy implements Policy {
  readonly name: string;
  readonly tokenizerId: string;
  readonly contextLength: number;
  readonly useCache: boolean;
  readonly sharePrefix: boolean;
  /** Rollouts are seeded per prompt id (see Policy.samplingSeedScope). */
  readonly samplingSeedScope = 'prompt-id' as const;

  constructor(
    readonly model: VisionLanguageModel,
    readonly tokenizer: Tokenizer,
    options: LocalPolicyOptions = {},
  ) {
    if (model.config.vocabSize !== tokenizer.size) {
      throw new InvalidInputError(
        'model.config.vocabSize',
        model.config.vocabSize,
        `the tokenizer has ${tokenizer.size} tokens`,
      );
    }
    this.name = options.name ?? 'local';
    this.tokenizerId = tokenizer.id;
    this.contextLength = model.contextLength;
    this.useCache = options.useCache ?? true;
    this.sharePrefix = options.sharePrefix ?? true;
  }

  /** The model's view of a prompt: its images and `<bos>` + the words of its text. */
  encodePrompt(prompt: Prompt, field = 'prompt'): ModelPrompt {
    return {
      images: prompt.images,
      tokenIds: [this.tokenizer.bosId, ...this.tokenizer.encode(prompt.text, `${field}.text`)],
    };
  }

  /** Positions a prompt occupies: the image prefix, `<bos>` and the words of its text. */
  promptLength(prompt: Prompt): number {
    return this.model.prefixLength + this.encodePrompt(prompt).tokenIds.length;
  }

  /** Token ids of a target response: its words then `<eos>`. */
  encodeResponse(text: string, field = 'response'): number[] {
    return [...this.tokenizer.encode(text, field), this.tokenizer.eosId];
  }

  /** A training batch from prompts and response token ids (for model.responseLogprobs etc.). */
  batch(prompts: readonly Prompt[], responses: readonly (readonly number[])[]): ResponseBatch {
    return { prompts: prompts.map((p, i) => this.encodePrompt(p, `prompts[${i}]`)), responses };
  }

  decode(tokenIds: readonly number[]): string {
    return this.tokenizer.decode(tokenIds);
  }

  async sample(prompts: readonly Prompt[], options: SamplingOptions): Promise<SampledResponse[][]> {
    checkSamplingOptions(options, this.tokenizer.size);
    const encoded = prompts.map((p, i) => this.encodePrompt(p, `prompts[${i}]`));
    if (options.promptSeeds !== undefined && options.promptSeeds.length !== prompts.length) {
      throw new InvalidInputError(
        'options.promptSeeds',
        options.promptSeeds.length,
        `expected one seed per prompt (${prompts.length})`,
      );
    }
    // Each rollout's stream depends on (seed, prompt id, g) only, not on the other prompts in
    // the call: callers may batch prompts freely and still reproduce every trajectory.
    const seeds = prompts.map((p, i) => options.promptSeeds?.[i] ?? deriveSeed(options.seed, p.id));
    return this.sampleEncoded(encoded, { ...options, promptSeeds: seeds });
  }

  /**
   * Samples from prompts already in the model's terms (images and token ids, as a training
   * service receives them), one seed per prompt (`options.promptSeeds`, required): rollout g of
   * prompt i draws from deriveSeed(promptSeeds[i], g), as `sample` does.
   */
  async sampleEncoded(
    encoded: readonly ModelPrompt[],
    options: SamplingOptions & { readonly promptSeeds: readonly number[] },
  ): Promise<SampledResponse[][]> {
    checkSamplingOptions(options, this.tokenizer.size);
    if (!Array.isArray(options.promptSeeds) || options.promptSeeds.length !== encoded.length) {
      throw new InvalidInputError(
        'options.promptSeeds',
        options.promptSeeds?.length,
        `expected one seed per prompt (${encoded.length})`,
      );
    }
    encoded.forEach((p, i) => this.model.checkPrompt(p, `prompts[${i}]`));
    if (encoded.length === 0) return [];
    const G = options.n;
    const rows = encoded.flatMap((p, i) => Array.from({ length: G }, (_, g) => ({ prompt: p, i, g })));
    const stops = new Set([this.tokenizer.eosId, ...(options.stop ?? [])]);
    const rngs = rows.map((r) => new Rng(deriveSeed(options.promptSeeds[r.i] as number, r.g)));
    const V = this.tokenizer.size;
    const room = rows.map((r) =>
      Math.min(options.maxTokens, this.model.config.maxTextLength - r.prompt.tokenIds.length),
    );
    const tokens: number[][] = rows.map(() => []);
    const lps: number[][] = rows.map(() => []);
    const slps: number[][] = rows.map(() => []);
    const done: (FinishState | undefined)[] = rows.map(() => undefined);
    const settings = { temperature: options.temperature, topK: options.topK, topP: options.topP };

    const choose = (next: Float32Array): boolean => {
      rows.forEach((_r, b) => {
        if (done[b]) return;
        if ((tokens[b]?.length ?? 0) >= (room[b] ?? 0)) {
          done[b] = 'length';
          return;
        }
        const c = chooseToken(next.subarray(b * V, (b + 1) * V), settings, rngs[b] as Rng);
        tokens[b]?.push(c.id);
        lps[b]?.push(c.logprob);
        slps[b]?.push(c.samplingLogprob);
        if (stops.has(c.id)) done[b] = 'stop';
        else if ((tokens[b]?.length ?? 0) >= (room[b] ?? 0)) done[b] = 'length';
      });
      return done.every((d) => d !== undefined);
    };

    if (this.useCache) {
      const share = this.sharePrefix;
      const first = share ? encoded : rows.map((r) => r.prompt);
      const prefix = this.model.encodePrefix(
        first.map((p) => p.images),
        share,
      );
      const { state, logprobs } = this.model.startDecoding(first, prefix);
      for (const c of prefix) {
        c.k.dispose();
        c.v.dispose();
      }
      try {
        // Room for the longest rollout: each step then writes into the cache in place.
        state.reserve(Math.max(...room));
        let next = logprobs;
        if (share) {
          state.select(rows.map((r) => r.i));
          next = new Float32Array(rows.length * V);
          rows.forEach((r, b) => next.set(logprobs.subarray(r.i * V, (r.i + 1) * V), b * V));
        }
        while (!choose(next)) {
          await yieldToEventLoop();
          // Finished rows feed masked padding; their outputs are ignored.
          const active = done.map((d) => d === undefined);
          next = state.step(
            tokens.map((t, b) => (active[b] ? (t.at(-1) ?? this.tokenizer.padId) : this.tokenizer.padId)),
            active,
          );
        }
      } finally {
        state.dispose();
      }
    } else {
      // Recompute everything each step: no cache, no sharing.
      let next = this.recompute(
        rows.map((r) => r.prompt),
        tokens,
      );
      while (!choose(next)) {
        await yieldToEventLoop();
        next = this.recompute(
          rows.map((r) => r.prompt),
          tokens,
        );
      }
    }
    return encoded.map((_p, i) =>
      Array.from({ length: G }, (_, g) => {
        const b = i * G + g;
        const ids = tokens[b] ?? [];
        return {
          tokenIds: ids,
          logprobs: Float32Array.from(lps[b] ?? []),
          samplingLogprobs: Float32Array.from(slps[b] ?? []),
          finishReason: done[b] ?? 'length',
          text: this.tokenizer.decode(ids),
        };
      }),
    );
  }

  /** Next-token log-probs [rows * V] after prompt + tokens, by a full forward pass. */
  private recompute(prompts: readonly ModelPrompt[], tokens: readonly (readonly number[])[]): Float32Array {
    const V = this.tokenizer.size;
    const out = new Float32Array(prompts.length * V);
    tf.tidy(() => {
      const lp = this.model.fullLogprobs({ prompts, responses: tokens }, 1);
      const data = lp.dataSync();
      const width = lp.shape[1];
      tokens.forEach((t, b) =>
        out.set(data.subarray((b * width + t.length) * V, (b * width + t.length + 1) * V), b * V),
      );
    });
    return out;
  }

  async score(
    requests: readonly ScoreRequest[],
    options: { readonly topK?: number } = {},
  ): Promise<ScoreResult[]> {
    const topK = options.topK ?? 0;
    const V = this.tokenizer.size;
    if (!Number.isInteger(topK) || topK < 0 || topK > V) {
      throw new InvalidInputError('options.topK', topK, `expected an integer in [0, ${V}]`);
    }
    if (requests.length === 0) return [];
    return this.scoreEncoded(
      requests.map((r, i) => this.encodePrompt(r.prompt, `requests[${i}].prompt`)),
      requests.map((r) => r.responseTokenIds),
      topK,
    );
  }

  /**
   * Teacher-forced log-probs of `responses` after prompts already in the model's terms (images
   * and token ids, as a training service receives them), with the top-K ids where asked.
   */
  async scoreEncoded(
    prompts: readonly ModelPrompt[],
    responses: readonly (readonly number[])[],
    topK = 0,
  ): Promise<ScoreResult[]> {
    const V = this.tokenizer.size;
    if (!Number.isInteger(topK) || topK < 0 || topK > V) {
      throw new InvalidInputError('options.topK', topK, `expected an integer in [0, ${V}]`);
    }
    if (responses.length !== prompts.length) {
      throw new InvalidInputError(
        'responses',
        responses.length,
        `expected one per prompt (${prompts.length})`,
      );
    }
    if (prompts.length === 0) return [];
    const batch: ResponseBatch = { prompts, responses };
    batch.prompts.forEach((p, i) => {
      this.model.checkIds(batch.responses[i] ?? [], `requests[${i}].responseTokenIds`);
      this.model.checkPrompt(p, `requests[${i}].prompt`, batch.responses[i]?.length ?? 0);
    });
    await yieldToEventLoop();
    // The read-back happens outside tf.tidy: tidy walks whatever its function returns looking
    // for tensors, and a Float32Array of B*T*V log-probs is walked element by element.
    const lp = tf.tidy(() => {
      if (this.useCache) {
        const prefix = this.model.encodePrefix(
          batch.prompts.map((p) => p.images),
          this.sharePrefix,
        );
        return this.model.cachedLogprobs(batch, prefix);
      }
      return this.model.fullLogprobs(batch);
    });
    const data = { values: lp.dataSync() as Float32Array, width: lp.shape[1] };
    lp.dispose();
    return batch.responses.map((resp, b) => {
      const logprobs = new Float32Array(resp.length);
      const ids: Int32Array[] = [];
      const tops: Float32Array[] = [];
      resp.forEach((id, t) => {
        const row = data.values.subarray((b * data.width + t) * V, (b * data.width + t + 1) * V);
        logprobs[t] = row[id] ?? 0;
        if (topK > 0) {
          const best = largestK(row, topK);
          ids.push(Int32Array.from(best));
          tops.push(Float32Array.from(best.map((i) => row[i] ?? 0)));
        }
      });
      return topK > 0 ? { logprobs, topK: { ids, logprobs: tops } } : { logprobs };
    });
  }
}

type FinishState = 'stop' | 'length';

/** Lets timers and progress callbacks run between decoding steps. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
