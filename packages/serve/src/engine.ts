// The request handlers over one LocalPolicy: what each endpoint computes, independent of HTTP.
// Model calls run one at a time (tfjs runs on one thread; a queue keeps latency predictable and
// memory bounded). Sampling goes through LocalPolicy.sample itself, so a request carrying
// vzero_prompt_id and vzero_seed gets exactly the rollouts the local policy gives that prompt.
import { randomInt } from 'node:crypto';
import { InvalidInputError } from '@vzero/core';
import type { Prompt, PromptImage, SampledResponse, SamplingOptions, ScoreResult } from '@vzero/core';
import type { LocalPolicy } from '@vzero/model';
import { HttpError, fromModelError } from './errors.js';
import { decodeImage, type ImageLimits } from './images.js';
import type { ChatMessage, ChatRequest, CompletionRequest } from './schemas.js';

/** One prompt log-prob entry (vLLM's shape): token id -> its log-prob, rank and text. */
export type PromptLogprobEntry = Record<string, { logprob: number; rank: number; decoded_token: string }>;

type TopK = NonNullable<ScoreResult['topK']>;

interface Sampled {
  readonly group: SampledResponse[];
  readonly top: readonly TopK[] | undefined;
}

/** The request's client went away: its work is dropped (logged as a cancellation, not an error). */
export class RequestCancelledError extends HttpError {
  constructor() {
    super(499, null, 'the client closed the connection; its work was cancelled', 'cancelled');
  }
}

export interface EngineLimits extends ImageLimits {
  /** Decoded image pixels all requests together may hold at once (a 503 beyond). */
  readonly maxPendingPixels: number;
}

/** Characters scanned per slice by the length pre-check before the event loop gets a turn. */
const SCAN_SLICE = 1 << 20;

export class Engine {
  private queue: Promise<unknown> = Promise.resolve();
  /** Model calls waiting or running. */
  pending = 0;
  /** Decoded image pixels reserved by requests now (decoding or holding their images). */
  pendingPixels = 0;
  /** The most bytes one token of the tokenizer stands for (bounds the tokens of a text). */
  private readonly longestToken: number;

  constructor(
    readonly policy: LocalPolicy,
    readonly modelName: string,
    readonly limits: EngineLimits,
  ) {
    this.longestToken = Math.max(1, ...policy.tokenizer.tokens.map((t) => Buffer.byteLength(t, 'utf8')));
  }

  /** Reserves decoded pixels against limits.maxPendingPixels; returns the release. */
  private reservePixels = (pixels: number, field: string): (() => void) => {
    if (this.pendingPixels + pixels > this.limits.maxPendingPixels) {
      throw new HttpError(
        503,
        field,
        `server busy: ${this.pendingPixels} decoded image pixels are held by requests now (budget ${this.limits.maxPendingPixels}); retry shortly`,
        'server_busy',
      );
    }
    this.pendingPixels += pixels;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pendingPixels -= pixels;
    };
  };

  /**
   * Refuses a text that cannot fit `max` tokens without tokenizing it: every run of non-space
   * characters is at least one token, and with byte-level BPE every token stands for at most
   * `longestToken` bytes. Scanned in slices with a turn of the event loop between them, so a
   * 32 MB prompt neither blocks health checks nor reaches the tokenizer.
   */
  async checkTextFits(text: string, max: number, field: string, signal?: AbortSignal): Promise<void> {
    let runs = 0;
    let nonSpace = 0;
    let inRun = false;
    for (let start = 0; start < text.length; start += SCAN_SLICE) {
      if (start > 0) {
        await new Promise((r) => setImmediate(r));
        if (signal?.aborted) throw new RequestCancelledError();
      }
      const end = Math.min(text.length, start + SCAN_SLICE);
      for (let i = start; i < end; i++) {
        const c = text.charCodeAt(i);
        // Exactly JavaScript's \s, which the tokenizers split on.
        const space =
          c === 32 ||
          (c >= 9 && c <= 13) ||
          c === 0xa0 ||
          c === 0x1680 ||
          (c >= 0x2000 && c <= 0x200a) ||
          c === 0x2028 ||
          c === 0x2029 ||
          c === 0x202f ||
          c === 0x205f ||
          c === 0x3000 ||
          c === 0xfeff;
        if (!space) nonSpace++;
        if (!space && !inRun) runs++;
        inRun = !space;
      }
      if (runs > max) break;
    }
    // Every token stands for at most longestToken UTF-8 bytes, hence as many UTF-16 code units:
    // of all the text with byte-level BPE (it tokenizes spaces too), of the rest otherwise.
    const covered = this.tokenizer.kind === 'bpe' ? text.length : nonSpace;
    const bytesBound = Math.ceil(covered / this.longestToken);
    const atLeast = Math.max(runs, bytesBound);
    if (atLeast > max) {
      throw new HttpError(
        400,
        field,
        `the text is at least ${atLeast} tokens (${text.length} characters); the model takes ${max}`,
      );
    }
  }

  private get tokenizer() {
    return this.policy.tokenizer;
  }

  /**
   * Runs model work after the work queued before it; work whose client has gone (`signal`
   * aborted) by its turn is skipped.
   */
  private serial<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.pending++;
    const turn = () => {
      if (signal?.aborted) throw new RequestCancelledError();
      return fn();
    };
    const run = this.queue.then(turn, turn).finally(() => {
      this.pending--;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  checkModel(model: string | undefined): void {
    if (model !== undefined && model !== this.modelName) {
      throw new HttpError(
        404,
        'model',
        `unknown model ${JSON.stringify(model)}; this server serves ${JSON.stringify(this.modelName)}`,
        'not_found_error',
      );
    }
  }

  models(): object {
    const m = this.policy.model;
    return {
      object: 'list',
      data: [
        {
          id: this.modelName,
          object: 'model',
          created: 0,
          owned_by: 'vzero',
          root: this.modelName,
          max_model_len: this.policy.contextLength,
          vzero_tokenizer_id: this.policy.tokenizerId,
          vzero_image_slots: m.config.images,
          vzero_image_tokens: m.prefixLength,
          vzero_vocabulary: {
            tokens: this.tokenizer.tokens,
            special_ids: this.tokenizer.tokens.map((_t, i) => i).filter((i) => this.tokenizer.isSpecial(i)),
            // Byte-level BPE tokens follow each other with nothing between them.
            joiner: this.tokenizer.kind === 'bpe' ? '' : ' ',
            // Ids byte_base .. byte_base + 255 are UTF-8 bytes, a run of them one piece (byte
            // fallback and byte-level BPE, whose merged tokens are named by their text, or by
            // their bytes' <0x..> names when that is not valid UTF-8).
            ...(this.tokenizer.byteBase >= 0 ? { byte_base: this.tokenizer.byteBase } : {}),
          },
        },
      ],
    };
  }

  private encode(text: string, field: string): number[] {
    try {
      return this.tokenizer.encode(text, field);
    } catch (error) {
      throw fromModelError(error, field) ?? error;
    }
  }

  private tokenText(id: number, asIds: boolean): string {
    return asIds ? `token_id:${id}` : (this.tokenizer.tokens[id] ?? '');
  }

  /**
   * Text and image URLs of chat messages, in order. Each text is first checked to fit `max`
   * tokens (without tokenizing it), then unknown words are 400s naming the part.
   */
  private async readMessages(
    messages: readonly ChatMessage[],
    max: number,
    signal?: AbortSignal,
  ): Promise<{ texts: string[]; urls: { url: string; field: string }[] }> {
    const parts: { text: string; field: string }[] = [];
    const urls: { url: string; field: string }[] = [];
    messages.forEach((m, i) => {
      if (typeof m.content === 'string') {
        parts.push({ text: m.content, field: `messages[${i}].content` });
        return;
      }
      m.content.forEach((part, j) => {
        if (part.type === 'text') parts.push({ text: part.text, field: `messages[${i}].content[${j}].text` });
        else urls.push({ url: part.image_url.url, field: `messages[${i}].content[${j}].image_url.url` });
      });
    });
    for (const p of parts) await this.checkTextFits(p.text, max, p.field, signal);
    await this.checkTextFits(parts.map((p) => p.text).join(' '), max, 'messages', signal);
    for (const p of parts) this.encode(p.text, p.field);
    return { texts: parts.map((p) => p.text), urls };
  }

  /**
   * Decodes a request's images under the server's limits; `release` gives their pixels back to
   * the budget (call it once the request is done with them).
   */
  private async decodeImages(
    urls: readonly { url: string; field: string }[],
    field: string,
    signal?: AbortSignal,
  ): Promise<{ images: PromptImage[]; release: () => void }> {
    const slots = this.policy.model.config.images;
    if (urls.length !== slots.length) {
      throw new HttpError(
        400,
        field,
        `this model takes ${slots.length} image(s) in the order ${slots.map((s) => s.role).join(', ')}; got ${urls.length}`,
      );
    }
    const images: PromptImage[] = [];
    const releases: (() => void)[] = [];
    const release = () => releases.forEach((r) => r());
    try {
      for (const [k, u] of urls.entries()) {
        if (signal?.aborted) throw new RequestCancelledError();
        images.push(
          await decodeImage(u.url, slots[k]?.role ?? 'full', this.limits, u.field, (pixels, f) => {
            const r = this.reservePixels(pixels, f);
            releases.push(r);
            return r;
          }),
        );
      }
    } catch (error) {
      release();
      throw error;
    }
    return { images, release };
  }

  private checkLength(ids: readonly number[], field: string): void {
    const max = this.policy.model.config.maxTextLength;
    if (ids.length > max) {
      throw new HttpError(400, field, `${ids.length} text tokens exceed the model's ${max}`);
    }
  }

  private samplingOptions(
    req: ChatRequest | CompletionRequest,
    maxTokens: number,
  ): { options: SamplingOptions; promptId: string } {
    const V = this.tokenizer.size;
    (req.stop_token_ids ?? []).forEach((id, i) => {
      if (id >= V) throw new HttpError(400, `stop_token_ids[${i}]`, `expected a token id in [0, ${V})`);
    });
    const seed = req.vzero_seed ?? req.seed ?? randomInt(0, 2 ** 31);
    return {
      options: {
        n: req.n ?? 1,
        temperature: req.temperature ?? 1,
        topP: req.top_p ?? 1,
        topK: Math.max(0, req.top_k ?? 0),
        maxTokens,
        seed,
        ...(req.stop_token_ids ? { stop: req.stop_token_ids } : {}),
      },
      promptId: req.vzero_prompt_id ?? '',
    };
  }

  private async sample(
    prompt: Prompt,
    options: SamplingOptions,
    topLogprobs: number,
    field: string,
    signal?: AbortSignal,
  ): Promise<Sampled> {
    try {
      return await this.serial(async () => {
        const [group = []] = await this.policy.sample([prompt], options);
        if (topLogprobs <= 0) return { group, top: undefined };
        if (signal?.aborted) throw new RequestCancelledError();
        // Top-K alternatives per sampled position: a teacher-forced pass over the sampled tokens.
        const scored = await this.policy.score(
          group.map((r) => ({ prompt, responseTokenIds: r.tokenIds })),
          { topK: Math.min(topLogprobs, this.tokenizer.size) },
        );
        return { group, top: scored.map((s) => s.topK ?? { ids: [], logprobs: [] }) };
      }, signal);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw fromModelError(error, field) ?? error;
    }
  }

  /** vLLM's prompt_logprobs: null for the first token, then each token's entry plus the top `k`. */
  async promptLogprobs(
    images: readonly PromptImage[],
    ids: readonly number[],
    k: number,
    asIds: boolean,
    field: string,
    signal?: AbortSignal,
  ): Promise<(PromptLogprobEntry | null)[]> {
    if (ids.length <= 1) return [null];
    const V = this.tokenizer.size;
    let result;
    try {
      // The prompt is <bos> alone and the rest is scored as a response: every position's
      // log-prob of the next given token, with the whole distribution for ranks.
      result = await this.serial(
        () =>
          this.policy.score([{ prompt: { id: '', images, text: '' }, responseTokenIds: ids.slice(1) }], {
            topK: V,
          }),
        signal,
      );
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw fromModelError(error, field) ?? error;
    }
    const [r] = result;
    const out: (PromptLogprobEntry | null)[] = [null];
    ids.slice(1).forEach((id, t) => {
      const order = r?.topK?.ids[t] ?? new Int32Array();
      const lps = r?.topK?.logprobs[t] ?? new Float32Array();
      const entry: PromptLogprobEntry = {};
      entry[String(id)] = {
        logprob: r?.logprobs[t] ?? Number.NaN,
        rank: order.indexOf(id) + 1,
        decoded_token: this.tokenText(id, asIds),
      };
      for (let j = 0; j < Math.min(k, order.length); j++) {
        const alt = order[j] as number;
        entry[String(alt)] ??= {
          logprob: lps[j] as number,
          rank: j + 1,
          decoded_token: this.tokenText(alt, asIds),
        };
      }
      out.push(entry);
    });
    return out;
  }

  async chat(req: ChatRequest, requestId: string, signal?: AbortSignal): Promise<object> {
    this.checkModel(req.model);
    const maxText = this.policy.model.config.maxTextLength;
    const { texts, urls } = await this.readMessages(req.messages, maxText, signal);
    const { images, release } = await this.decodeImages(urls, 'messages', signal);
    try {
      return await this.chatWith(req, requestId, texts, images, signal);
    } finally {
      release();
    }
  }

  private async chatWith(
    req: ChatRequest,
    requestId: string,
    texts: readonly string[],
    images: PromptImage[],
    signal: AbortSignal | undefined,
  ): Promise<object> {
    const text = texts.join(' ');
    const ids = [this.tokenizer.bosId, ...this.encode(text, 'messages')];
    this.checkLength(ids, 'messages');
    const asIds = req.return_tokens_as_token_ids ?? false;
    const maxTokens = req.max_tokens ?? req.max_completion_tokens ?? this.policy.model.config.maxTextLength;
    const { options, promptId } = this.samplingOptions(req, maxTokens);
    const promptLogprobs = await this.requestedPromptLogprobs(req, images, ids, asIds, 'messages', signal);
    const top = req.top_logprobs ?? 0;
    const { group, top: tops } = await this.sample(
      { id: promptId, images, text },
      options,
      req.logprobs ? top : 0,
      'messages',
      signal,
    );
    const keepSpecial = req.skip_special_tokens === false;
    const choices = group.map((r, index) => ({
      index,
      message: { role: 'assistant', content: this.tokenizer.decode(r.tokenIds, { keepSpecial }) },
      finish_reason: r.finishReason,
      logprobs: req.logprobs
        ? {
            content: r.tokenIds.map((id, k) => ({
              token: this.tokenText(id, asIds),
              logprob: r.logprobs[k],
              bytes: null,
              top_logprobs: topEntries(tops?.[index], k, (t) => this.tokenText(t, asIds)),
              vzero_sampling_logprob: r.samplingLogprobs[k],
            })),
          }
        : null,
    }));
    return this.response(`chatcmpl-${requestId}`, 'chat.completion', ids, group, choices, {
      ...(promptLogprobs ? { prompt_logprobs: promptLogprobs } : {}),
    });
  }

  async completion(req: CompletionRequest, requestId: string, signal?: AbortSignal): Promise<object> {
    this.checkModel(req.model);
    if (typeof req.prompt === 'string')
      await this.checkTextFits(req.prompt, this.policy.model.config.maxTextLength, 'prompt', signal);
    const { images, release } = await this.decodeImages(
      (req.vzero_images ?? []).map((url, k) => ({ url, field: `vzero_images[${k}]` })),
      'vzero_images',
      signal,
    );
    try {
      return await this.completionWith(req, requestId, images, signal);
    } finally {
      release();
    }
  }

  private async completionWith(
    req: CompletionRequest,
    requestId: string,
    images: PromptImage[],
    signal: AbortSignal | undefined,
  ): Promise<object> {
    const tk = this.tokenizer;
    let ids: number[];
    if (typeof req.prompt === 'string') {
      ids = [...(req.add_special_tokens === false ? [] : [tk.bosId]), ...this.encode(req.prompt, 'prompt')];
    } else {
      ids = req.prompt;
      ids.forEach((id, i) => {
        if (id >= tk.size) throw new HttpError(400, `prompt[${i}]`, `expected a token id in [0, ${tk.size})`);
      });
    }
    if (ids[0] !== tk.bosId) {
      throw new HttpError(
        400,
        'prompt[0]',
        `expected <bos> (id ${tk.bosId}): prompts start with <bos>, as /tokenize returns them`,
      );
    }
    this.checkLength(ids, 'prompt');
    const asIds = req.return_tokens_as_token_ids ?? false;
    const promptLogprobs = await this.requestedPromptLogprobs(req, images, ids, asIds, 'prompt', signal);
    const maxTokens = req.max_tokens ?? 16;
    const n = req.n ?? 1;
    const rest = ids.slice(1);
    const special = rest.findIndex((id) => tk.isSpecial(id));
    let group: SampledResponse[];
    let tops: Sampled['top'];
    const finished = (reason: 'stop' | 'length'): SampledResponse[] =>
      Array.from({ length: n }, () => ({
        tokenIds: [],
        logprobs: new Float32Array(),
        samplingLogprobs: new Float32Array(),
        finishReason: reason,
        text: '',
      }));
    if (maxTokens === 0) {
      group = finished('length');
    } else if (special >= 0) {
      // Generation continues word prompts only. A prompt holding special tokens is a scored
      // sequence (e.g. a response ending in <eos>): it gets prompt_logprobs and no completion.
      group = finished(rest.at(-1) === tk.eosId ? 'stop' : 'length');
    } else {
      const { options, promptId } = this.samplingOptions(req, maxTokens);
      const sampled = await this.sample(
        { id: promptId, images, text: tk.decode(rest) },
        options,
        req.logprobs ?? 0,
        'prompt',
        signal,
      );
      group = sampled.group;
      tops = sampled.top;
    }
    const keepSpecial = req.skip_special_tokens === false;
    const choices = group.map((r, index) => ({
      index,
      text: tk.decode(r.tokenIds, { keepSpecial }),
      finish_reason: r.finishReason,
      logprobs:
        req.logprobs != null
          ? {
              tokens: r.tokenIds.map((id) => this.tokenText(id, asIds)),
              token_logprobs: Array.from(r.logprobs),
              top_logprobs: r.tokenIds.map((_id, k) =>
                Object.fromEntries(
                  topEntries(tops?.[index], k, (t) => this.tokenText(t, asIds)).map((e) => [
                    e.token,
                    e.logprob,
                  ]),
                ),
              ),
              vzero_sampling_logprobs: Array.from(r.samplingLogprobs),
            }
          : null,
      ...(promptLogprobs ? { prompt_logprobs: promptLogprobs } : {}),
    }));
    return this.response(`cmpl-${requestId}`, 'text_completion', ids, group, choices);
  }

  /** prompt_logprobs when the request asks for them (chat and completion alike). */
  private async requestedPromptLogprobs(
    req: { readonly prompt_logprobs?: number | null | undefined },
    images: Parameters<Engine['promptLogprobs']>[0],
    ids: readonly number[],
    asIds: boolean,
    field: string,
    signal?: AbortSignal,
  ): Promise<Awaited<ReturnType<Engine['promptLogprobs']>> | undefined> {
    return req.prompt_logprobs != null
      ? await this.promptLogprobs(images, ids, req.prompt_logprobs, asIds, field, signal)
      : undefined;
  }

  /** The OpenAI response envelope shared by chat and completion: ids, model, choices, usage. */
  private response(
    id: string,
    object: 'chat.completion' | 'text_completion',
    promptIds: readonly number[],
    group: readonly SampledResponse[],
    choices: readonly object[],
    extra: object = {},
  ): object {
    const promptTokens = promptIds.length + this.policy.model.prefixLength;
    const completionTokens = group.reduce((n, r) => n + r.tokenIds.length, 0);
    return {
      id,
      object,
      created: Math.floor(Date.now() / 1000),
      model: this.modelName,
      choices,
      ...extra,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
  }

  /** Token ids of a prompt or of chat messages' text (images take no text tokens here). */
  async tokenize(text: string, addSpecial: boolean, field: string, signal?: AbortSignal): Promise<object> {
    await this.checkTextFits(text, this.policy.contextLength, field, signal);
    const ids = [...(addSpecial ? [this.tokenizer.bosId] : []), ...this.encode(text, field)];
    return { count: ids.length, max_model_len: this.policy.contextLength, tokens: ids };
  }

  async tokenizeMessages(
    messages: readonly ChatMessage[],
    addSpecial: boolean,
    signal?: AbortSignal,
  ): Promise<object> {
    const { texts } = await this.readMessages(messages, this.policy.contextLength, signal);
    return this.tokenize(texts.join(' '), addSpecial, 'messages', signal);
  }

  detokenize(tokens: readonly number[], keepSpecial = false): object {
    try {
      return { prompt: this.tokenizer.decode(tokens, { keepSpecial }) };
    } catch (error) {
      if (error instanceof InvalidInputError) {
        throw new HttpError(400, error.field.replace(/^tokenIds/, 'tokens'), error.message);
      }
      throw error;
    }
  }
}

function topEntries(
  top: TopK | undefined,
  k: number,
  text: (id: number) => string,
): { token: string; logprob: number; bytes: null }[] {
  const ids = top?.ids[k];
  const lps = top?.logprobs[k];
  if (!ids || !lps) return [];
  return Array.from(ids, (id, j) => ({ token: text(id), logprob: lps[j] as number, bytes: null }));
}
