// RemotePolicy: the Policy contract over an OpenAI-compatible server. Sampling goes through
// /v1/chat/completions with per-token log-probs and token ids; teacher scoring through vLLM's
// prompt_logprobs over [prompt tokens + the student's response tokens], with the prompt's token
// ids from the server's /tokenize so that every value lines up with a student token.
import { InvalidInputError, checkSamplingOptions, deriveSeed } from '@vzero/core';
import type {
  Policy,
  Prompt,
  SampledResponse,
  SamplingOptions,
  ScoreRequest,
  ScoreResult,
} from '@vzero/core';
import { RemoteAlignmentError } from './errors.js';
import { Transport, type RemoteStats, type TransportOptions } from './transport.js';
import {
  chatResponse,
  chatScoreResponse,
  completionResponse,
  detokenizeResponse,
  modelsResponse,
  tokenizeResponse,
  type ChatResponse,
  type ModelEntry,
  type PromptLogprobEntry,
} from './wire.js';

/** A token name made of byte names only, e.g. <0xE4><0xB8> (part of a UTF-8 character). */
const BYTE_NAMES = /^(<0x[0-9A-F]{2}>)+$/;

/** Default environment variable holding the API key. */
export const DEFAULT_API_KEY_ENV = 'VZERO_API_KEY';

/**
 * How rollouts are seeded on the wire.
 * - 'vzero': one request per prompt with n = G, `seed` = deriveSeed(seed, prompt.id) and the
 *   extension fields vzero_seed = seed, vzero_prompt_id = prompt.id. `vzero serve` reproduces
 *   LocalPolicy's rollouts exactly; vLLM ignores the extensions and seeds the prompt with `seed`.
 * - 'per-rollout': G requests with n = 1, rollout g seeded deriveSeed(deriveSeed(seed, id), g)
 *   (the seed LocalPolicy gives rollout g): each rollout reproducible on its own on any server
 *   with per-request seeds, at G times the requests.
 */
export type SeedingMode = 'vzero' | 'per-rollout';

/**
 * How score() gets prompt log-probs.
 * - 'completions': /tokenize the prompt text, then /v1/completions with the prompt as token ids
 *   (+ images in vzero_images); the response tokens are sent as ids, never retokenized.
 * - 'chat': the response as an assistant message (text from /detokenize), located by tokenizing
 *   the messages with and without it; needed for servers whose completions endpoint takes no
 *   images (vLLM). A response that does not retokenize to the student's ids is an error.
 */
export type ScoreVia = 'completions' | 'chat';

export interface RemotePolicyOptions extends Omit<TransportOptions, 'apiKey'> {
  /** The served model name (GET /v1/models lists it); default the first model the server lists. */
  readonly model?: string;
  /** API key; default: the environment variable `apiKeyEnv`. Never logged or put in messages. */
  readonly apiKey?: string;
  /** Environment variable of the key (default VZERO_API_KEY). */
  readonly apiKeyEnv?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly name?: string;
  /** Tokenizer identity; default the server's vzero_tokenizer_id, else the model name. */
  readonly tokenizerId?: string;
  /** Context length in tokens; default the server's max_model_len. */
  readonly contextLength?: number;
  /** Token ids to text for decode(); default the vocabulary `vzero serve` publishes. */
  readonly decode?: (tokenIds: readonly number[]) => string;
  /** Default 'vzero'. */
  readonly seeding?: SeedingMode;
  /** Default 'completions'. */
  readonly scoreVia?: ScoreVia;
  /** Prompt texts whose /tokenize result is kept (default 4096). */
  readonly tokenCacheSize?: number;
}

const TOKEN_ID = /^token_id:(\d+)$/;

export class RemotePolicy implements Policy {
  readonly name: string;
  readonly tokenizerId: string;
  readonly contextLength: number;
  /** A prompt's rollouts depend on (seed, prompt id, prompt) only, in both seeding modes. */
  readonly samplingSeedScope = 'prompt-id' as const;
  readonly model: string;
  readonly seeding: SeedingMode;
  readonly scoreVia: ScoreVia;
  readonly #transport: Transport;
  readonly #decode: ((ids: readonly number[]) => string) | undefined;
  readonly #tokenCache = new Map<string, Promise<number[]>>();
  readonly #tokenCacheSize: number;
  readonly #urls = new WeakMap<Uint8Array, string>();
  readonly #entry: ModelEntry;

  private constructor(
    transport: Transport,
    options: RemotePolicyOptions & { readonly model: string },
    entry: ModelEntry,
  ) {
    this.#transport = transport;
    this.#entry = entry;
    this.model = options.model;
    this.name = options.name ?? `remote:${options.model}`;
    this.tokenizerId = options.tokenizerId ?? entry.vzero_tokenizer_id ?? options.model;
    const context = options.contextLength ?? entry.max_model_len;
    if (context === undefined || !Number.isInteger(context) || context < 1) {
      throw new InvalidInputError(
        'options.contextLength',
        context,
        'the server reports no max_model_len: give contextLength',
      );
    }
    this.contextLength = context;
    this.seeding = options.seeding ?? 'vzero';
    this.scoreVia = options.scoreVia ?? 'completions';
    if (this.seeding !== 'vzero' && this.seeding !== 'per-rollout') {
      throw new InvalidInputError('options.seeding', this.seeding, 'expected "vzero" or "per-rollout"');
    }
    if (this.scoreVia !== 'completions' && this.scoreVia !== 'chat') {
      throw new InvalidInputError('options.scoreVia', this.scoreVia, 'expected "completions" or "chat"');
    }
    this.#tokenCacheSize = options.tokenCacheSize ?? 4096;
    const vocab = entry.vzero_vocabulary;
    this.#decode =
      options.decode ??
      (vocab
        ? (ids) => {
            const special = new Set(vocab.special_ids);
            const base = vocab.byte_base;
            const pieces: string[] = [];
            let bytes: number[] = [];
            const flush = () => {
              if (bytes.length > 0) pieces.push(Buffer.from(bytes).toString('utf8'));
              bytes = [];
            };
            ids.forEach((id, i) => {
              const t = vocab.tokens[id];
              if (t === undefined)
                throw new InvalidInputError(
                  `tokenIds[${i}]`,
                  id,
                  `expected an id in [0, ${vocab.tokens.length})`,
                );
              if (base !== undefined && id >= base && id < base + 256) {
                bytes.push(id - base);
                return;
              }
              // A byte-level BPE token that is not valid UTF-8 alone is named by its bytes.
              if (base !== undefined && vocab.joiner === '' && BYTE_NAMES.test(t)) {
                for (const m of t.matchAll(/<0x([0-9A-F]{2})>/g)) bytes.push(parseInt(m[1] as string, 16));
                return;
              }
              flush();
              if (!special.has(id)) pieces.push(t);
            });
            flush();
            return pieces.join(vocab.joiner);
          }
        : undefined);
  }

  /**
   * Checks that the server serves `options.model` (GET /v1/models) and builds the policy. With
   * several base URLs (replicas of one model), each is asked: those that answer must serve the
   * model with the same context length and tokenizer; one that does not answer starts unhealthy
   * and is probed (at least one must answer).
   */
  static async connect(options: RemotePolicyOptions): Promise<RemotePolicy> {
    if (options?.model !== undefined && (typeof options.model !== 'string' || options.model === '')) {
      throw new InvalidInputError('options.model', options?.model, 'expected the served model name');
    }
    const envName = options.apiKeyEnv ?? DEFAULT_API_KEY_ENV;
    const env = options.env ?? process.env;
    const apiKey = options.apiKey ?? (env[envName] || undefined);
    const { model: _m, apiKey: _k, apiKeyEnv: _e, env: _env, ...rest } = options;
    const transport = new Transport({ ...rest, ...(apiKey !== undefined ? { apiKey } : {}) });
    const urls = transport.baseUrls;
    const field = (i: number) => (urls.length > 1 ? `options.baseUrl[${i}]` : 'options.baseUrl');
    const listed = await Promise.allSettled(
      urls.map((_, i) =>
        transport.call('GET', '/v1/models', undefined, (j) => modelsResponse.parse(j), undefined, {
          replica: i,
        }),
      ),
    );
    const answered = listed.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, models: r.value }] : []));
    if (answered.length === 0) {
      transport.close();
      throw (listed[0] as PromiseRejectedResult).reason;
    }
    const firstListed = answered[0] as { i: number; models: { data: ModelEntry[] } };
    const model = options.model ?? firstListed.models.data[0]?.id;
    if (model === undefined) {
      transport.close();
      throw new InvalidInputError(field(firstListed.i), urls[firstListed.i], 'the server lists no model');
    }
    let entry: ModelEntry | undefined;
    for (const { i, models } of answered) {
      const e = models.data.find((m) => m.id === model);
      if (!e) {
        transport.close();
        throw new InvalidInputError(
          options.model !== undefined ? 'options.model' : field(i),
          options.model !== undefined ? model : urls[i],
          `${model} is not served at ${urls[i]}; served: ${models.data.map((m) => m.id).join(', ') || 'none'}`,
        );
      }
      if (
        entry !== undefined &&
        (e.max_model_len !== entry.max_model_len || e.vzero_tokenizer_id !== entry.vzero_tokenizer_id)
      ) {
        transport.close();
        throw new InvalidInputError(
          field(i),
          urls[i],
          `serves ${model} with max_model_len ${e.max_model_len} and tokenizer ${e.vzero_tokenizer_id ?? 'unknown'}, ` +
            `unlike ${urls[answered[0]?.i ?? 0]} (${entry.max_model_len}, ${entry.vzero_tokenizer_id ?? 'unknown'}): replicas must serve one model`,
        );
      }
      entry ??= e;
    }
    // A replica is back when it lists the model again.
    transport.probeCheck = (j) => {
      const parsed = modelsResponse.safeParse(j);
      return parsed.success && parsed.data.data.some((m) => m.id === model);
    };
    listed.forEach((r, i) => {
      if (r.status === 'rejected') transport.markUnhealthy(i, (r.reason as Error).message);
    });
    return new RemotePolicy(transport, { ...options, model }, entry as ModelEntry);
  }

  /** Stops probing unhealthy replicas (probe timers never keep the process alive anyway). */
  close(): void {
    this.#transport.close();
  }

  /** What GET /v1/models said about the model (e.g. `vzero serve`'s image slots). */
  get server(): Readonly<ModelEntry> {
    return this.#entry;
  }

  /** Request counters: calls, attempts, retries, successes, failures by reason. */
  stats(): RemoteStats {
    return this.#transport.stats();
  }

  decode(tokenIds: readonly number[]): string {
    if (!this.#decode) {
      throw new InvalidInputError(
        'options.decode',
        undefined,
        `the server publishes no vocabulary: give a decode function (or use detokenize(), which asks the server)`,
      );
    }
    return this.#decode(tokenIds);
  }

  /** Text of token ids from the server's POST /detokenize. */
  async detokenize(tokenIds: readonly number[], skipSpecialTokens = true): Promise<string> {
    const r = await this.#transport.call(
      'POST',
      '/detokenize',
      { model: this.model, tokens: tokenIds, skip_special_tokens: skipSpecialTokens },
      (j) => detokenizeResponse.parse(j),
    );
    return r.prompt;
  }

  #dataUrl(prompt: Prompt, field: string): { type: 'image_url'; image_url: { url: string } }[] {
    return prompt.images.map((img, j) => {
      if (!img.encoded) {
        throw new InvalidInputError(
          `${field}.images[${j}].encoded`,
          undefined,
          'a remote policy sends encoded images: build it with toPromptImage(view, role, "encoded" or "both")',
        );
      }
      let url = this.#urls.get(img.encoded.bytes);
      if (url === undefined) {
        url = `data:${img.encoded.mime};base64,${Buffer.from(img.encoded.bytes).toString('base64')}`;
        this.#urls.set(img.encoded.bytes, url);
      }
      return { type: 'image_url' as const, image_url: { url } };
    });
  }

  #userMessage(prompt: Prompt, field: string) {
    return {
      role: 'user' as const,
      content: [...this.#dataUrl(prompt, field), { type: 'text' as const, text: prompt.text }],
    };
  }

  async sample(prompts: readonly Prompt[], options: SamplingOptions): Promise<SampledResponse[][]> {
    checkSamplingOptions(options);
    const G = options.n;
    const jobs: { i: number; g: number; n: number; body: Record<string, unknown> }[] = [];
    prompts.forEach((prompt, i) => {
      const field = `prompts[${i}]`;
      if (typeof prompt?.id !== 'string')
        throw new InvalidInputError(`${field}.id`, prompt?.id, 'expected a string');
      const base = {
        model: this.model,
        messages: [this.#userMessage(prompt, field)],
        temperature: options.temperature,
        top_p: options.topP,
        max_tokens: options.maxTokens,
        logprobs: true,
        return_tokens_as_token_ids: true,
        ...(options.topK > 0 ? { top_k: options.topK } : {}),
        ...(options.stop?.length ? { stop_token_ids: options.stop } : {}),
      };
      const promptSeed = deriveSeed(options.seed, prompt.id);
      if (this.seeding === 'vzero') {
        jobs.push({
          i,
          g: 0,
          n: G,
          body: { ...base, n: G, seed: promptSeed, vzero_seed: options.seed, vzero_prompt_id: prompt.id },
        });
      } else {
        for (let g = 0; g < G; g++) {
          jobs.push({ i, g, n: 1, body: { ...base, n: 1, seed: deriveSeed(promptSeed, g) } });
        }
      }
    });
    const out: (SampledResponse | undefined)[][] = prompts.map(
      () => new Array<SampledResponse | undefined>(G),
    );
    const settled = await Promise.allSettled(
      jobs.map(async (job) => {
        const requestId = this.#transport.requestId();
        const res = await this.#transport.call(
          'POST',
          '/v1/chat/completions',
          job.body,
          (j) => checkedChoices(chatResponse.parse(j), job.n),
          requestId,
        );
        res.choices.forEach((choice, c) => {
          const row = out[job.i] as (SampledResponse | undefined)[];
          row[job.g + c] = toSampled(
            choice,
            `prompts[${job.i}] (${prompts[job.i]?.id}) rollout ${job.g + c}`,
            requestId,
            this.#decode,
          );
        });
      }),
    );
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return out.map((row) => row.map((r) => r as SampledResponse));
  }

  async #promptIds(text: string): Promise<number[]> {
    let ids = this.#tokenCache.get(text);
    if (!ids) {
      if (this.#tokenCache.size >= this.#tokenCacheSize) this.#tokenCache.clear();
      ids = this.#transport
        .call('POST', '/tokenize', { model: this.model, prompt: text, add_special_tokens: true }, (j) =>
          tokenizeResponse.parse(j),
        )
        .then((r) => r.tokens);
      this.#tokenCache.set(text, ids);
      ids.catch(() => this.#tokenCache.delete(text));
    }
    return ids;
  }

  async score(
    requests: readonly ScoreRequest[],
    options: { readonly topK?: number } = {},
  ): Promise<ScoreResult[]> {
    const topK = options.topK ?? 0;
    if (!Number.isInteger(topK) || topK < 0 || topK > 20) {
      throw new InvalidInputError(
        'options.topK',
        topK,
        'expected an integer in [0, 20] (servers cap log-probs at --max-logprobs)',
      );
    }
    requests.forEach((r, i) => {
      r.responseTokenIds.forEach((id, k) => {
        if (!Number.isInteger(id) || id < 0) {
          throw new InvalidInputError(`requests[${i}].responseTokenIds[${k}]`, id, 'expected a token id');
        }
      });
      this.#dataUrl(r.prompt, `requests[${i}].prompt`);
    });
    const settled = await Promise.allSettled(
      requests.map((r, i) =>
        this.scoreVia === 'chat' ? this.#scoreChat(r, i, topK) : this.#scoreCompletions(r, i, topK),
      ),
    );
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<ScoreResult>).value);
  }

  async #scoreCompletions(r: ScoreRequest, i: number, topK: number): Promise<ScoreResult> {
    const response = r.responseTokenIds;
    if (response.length === 0) return emptyScore(topK);
    const promptIds = await this.#promptIds(r.prompt.text);
    const ids = [...promptIds, ...response];
    const images = this.#dataUrl(r.prompt, `requests[${i}].prompt`).map((p) => p.image_url.url);
    const requestId = this.#transport.requestId();
    const res = await this.#transport.call(
      'POST',
      '/v1/completions',
      {
        model: this.model,
        prompt: ids,
        max_tokens: 1,
        temperature: 0,
        prompt_logprobs: topK,
        ...(images.length > 0 ? { vzero_images: images } : {}),
      },
      (j) => completionResponse.parse(j),
      requestId,
    );
    return readSpan(
      res.choices[0]?.prompt_logprobs ?? [],
      ids,
      promptIds.length,
      topK,
      `requests[${i}]`,
      requestId,
    );
  }

  async #scoreChat(r: ScoreRequest, i: number, topK: number): Promise<ScoreResult> {
    const response = r.responseTokenIds;
    if (response.length === 0) return emptyScore(topK);
    const field = `requests[${i}]`;
    const user = this.#userMessage(r.prompt, `${field}.prompt`);
    const text = await this.detokenize(response, false);
    const messages = [user, { role: 'assistant' as const, content: text }];
    const tokenize = (body: Record<string, unknown>) =>
      this.#transport.call('POST', '/tokenize', { model: this.model, ...body }, (j) =>
        tokenizeResponse.parse(j),
      );
    const [prefix, full] = await Promise.all([
      tokenize({ messages: [user], add_generation_prompt: true }),
      tokenize({ messages, add_generation_prompt: false, continue_final_message: true }),
    ]);
    const requestId = this.#transport.requestId();
    const P = prefix.tokens.length;
    for (let p = 0; p < Math.max(full.tokens.length, P + response.length); p++) {
      const want = p < P ? prefix.tokens[p] : response[p - P];
      if (full.tokens[p] !== want) {
        throw new RemoteAlignmentError(
          `${field}${p >= P ? ' response' : ' prompt'}`,
          requestId,
          p >= P ? p - P : p,
          `the server tokenizes [prompt + response text] to ${full.tokens[p] ?? 'nothing'} here, expected ${want ?? 'nothing'}`,
        );
      }
    }
    const res = await this.#transport.call(
      'POST',
      '/v1/chat/completions',
      {
        model: this.model,
        messages,
        add_generation_prompt: false,
        continue_final_message: true,
        max_tokens: 1,
        temperature: 0,
        prompt_logprobs: topK,
      },
      (j) => chatScoreResponse.parse(j),
      requestId,
    );
    return readSpan(res.prompt_logprobs, full.tokens, P, topK, field, requestId);
  }
}

function emptyScore(topK: number): ScoreResult {
  return topK > 0
    ? { logprobs: new Float32Array(0), topK: { ids: [], logprobs: [] } }
    : { logprobs: new Float32Array(0) };
}

/** The log-probs of ids[start..] from a prompt_logprobs array, checked position by position. */
function readSpan(
  entries: readonly PromptLogprobEntry[],
  ids: readonly number[],
  start: number,
  topK: number,
  field: string,
  requestId: string,
): ScoreResult {
  if (entries.length !== ids.length) {
    throw new RemoteAlignmentError(
      field,
      requestId,
      undefined,
      `the server returned ${entries.length} prompt log-probs for ${ids.length} prompt tokens`,
    );
  }
  const n = ids.length - start;
  const logprobs = new Float32Array(n);
  const topIds: Int32Array[] = [];
  const topLps: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const token = ids[start + k] as number;
    const entry = entries[start + k];
    const own = entry?.[String(token)];
    if (!own) {
      throw new RemoteAlignmentError(
        field,
        requestId,
        k,
        `no log-prob for response token ${token} at prompt position ${start + k}`,
      );
    }
    logprobs[k] = own.logprob;
    if (topK > 0 && entry) {
      const ranked = Object.entries(entry)
        .filter(([, v]) => typeof v.rank === 'number' && v.rank >= 1 && v.rank <= topK)
        .sort((a, b) => (a[1].rank ?? 0) - (b[1].rank ?? 0));
      topIds.push(Int32Array.from(ranked.map(([id]) => Number(id))));
      topLps.push(Float32Array.from(ranked.map(([, v]) => v.logprob)));
    }
  }
  return topK > 0 ? { logprobs, topK: { ids: topIds, logprobs: topLps } } : { logprobs };
}

/** Exactly n choices with indices 0..n-1, in index order (else the response is malformed). */
function checkedChoices(res: ChatResponse, n: number): ChatResponse {
  const choices = [...res.choices].sort((a, b) => a.index - b.index);
  if (choices.length !== n || choices.some((c, k) => c.index !== k)) {
    throw new Error(
      `expected ${n} choices indexed 0..${n - 1}, got indices [${res.choices.map((c) => c.index).join(', ')}]`,
    );
  }
  return { choices };
}

function toSampled(
  choice: ChatResponse['choices'][number],
  where: string,
  requestId: string,
  decode: ((ids: readonly number[]) => string) | undefined,
): SampledResponse {
  const content = choice.logprobs.content;
  const tokenIds = content.map((c, k) => {
    const m = TOKEN_ID.exec(c.token);
    if (!m) {
      throw new RemoteAlignmentError(
        where,
        requestId,
        k,
        `token ${JSON.stringify(c.token)} is not "token_id:<id>": the server must honour return_tokens_as_token_ids`,
      );
    }
    return Number(m[1]);
  });
  const finish = choice.finish_reason;
  if (finish !== 'stop' && finish !== 'length') {
    throw new RemoteAlignmentError(
      where,
      requestId,
      undefined,
      `finish_reason ${JSON.stringify(finish)} (expected "stop" or "length")`,
    );
  }
  return {
    tokenIds,
    logprobs: Float32Array.from(content, (c) => c.logprob),
    // Servers without the extension report only the temperature-1 log-prob (vLLM's raw mode).
    samplingLogprobs: Float32Array.from(content, (c) => c.vzero_sampling_logprob ?? c.logprob),
    finishReason: finish,
    text: choice.message.content ?? (decode ? decode(tokenIds) : ''),
  };
}
