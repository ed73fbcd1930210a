// Request schemas of the served subset of the OpenAI-compatible API (with vLLM's extensions and
// ours, prefixed vzero_). Objects are strict: a misspelt or unsupported field is a 400 naming
// it, never silently ignored.
import { z } from 'zod';

/** Most top-K log-probs per position a request may ask for (vLLM's default --max-logprobs). */
export const MAX_LOGPROBS = 20;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number()
    .int(`expected an integer in [${min}, ${max}]`)
    .min(min, `expected an integer in [${min}, ${max}]`)
    .max(max, `expected an integer in [${min}, ${max}]`);

const seed = z
  .number()
  .int('expected an integer')
  .min(-Number.MAX_SAFE_INTEGER, 'expected a safe integer')
  .max(Number.MAX_SAFE_INTEGER, 'expected a safe integer');

const samplingFields = {
  n: int(1, 64).optional(),
  temperature: z
    .number()
    .min(0, 'expected a number in [0, 100]')
    .max(100, 'expected a number in [0, 100]')
    .optional(),
  top_p: z.number().gt(0, 'expected a number in (0, 1]').max(1, 'expected a number in (0, 1]').optional(),
  /** -1 and 0 disable top-k (vLLM uses -1, older servers 0). */
  top_k: int(-1).optional(),
  seed: seed.optional(),
  stop_token_ids: z.array(int(0)).max(64).optional(),
  return_tokens_as_token_ids: z.boolean().optional(),
  skip_special_tokens: z.boolean().optional(),
  prompt_logprobs: int(0, MAX_LOGPROBS).nullable().optional(),
  stream: z.literal(false, 'streaming is not supported').optional(),
  user: z.string().max(256).optional(),
  /** Ours: seed rollouts as LocalPolicy does for the prompt with this id (see README). */
  vzero_prompt_id: z.string().max(1024).optional(),
  /** Ours: the base seed LocalPolicy would be given (default: `seed`). */
  vzero_seed: seed.optional(),
};

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({
    url: z.string(),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});
const contentPart = z.discriminatedUnion('type', [textPart, imagePart]);
export const messageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.union([z.string(), z.array(contentPart).min(1)]),
});
export type ChatMessage = z.infer<typeof messageSchema>;

export const chatSchema = z.strictObject({
  model: z.string(),
  messages: z.array(messageSchema).min(1).max(64),
  ...samplingFields,
  max_tokens: int(1).optional(),
  max_completion_tokens: int(1).optional(),
  logprobs: z.boolean().optional(),
  top_logprobs: int(0, MAX_LOGPROBS).optional(),
  /** Accepted for vLLM compatibility; the word-level model has no chat template. */
  add_generation_prompt: z.boolean().optional(),
  continue_final_message: z.boolean().optional(),
});
export type ChatRequest = z.infer<typeof chatSchema>;

export const completionSchema = z.strictObject({
  model: z.string(),
  prompt: z.union([z.string(), z.array(int(0)).min(1)]),
  ...samplingFields,
  /** 0 scores the prompt only (prompt_logprobs) and generates nothing. */
  max_tokens: int(0).optional(),
  /** Legacy completions log-probs: top-K per generated token (0 = the sampled token only). */
  logprobs: int(0, MAX_LOGPROBS).nullable().optional(),
  echo: z.literal(false, 'echo is not supported; use prompt_logprobs').optional(),
  add_special_tokens: z.boolean().optional(),
  /** Ours: the prompt's images as data URLs, in the model's slot order (full image, then crop). */
  vzero_images: z.array(z.string()).max(8).optional(),
});
export type CompletionRequest = z.infer<typeof completionSchema>;

export const tokenizePromptSchema = z.strictObject({
  model: z.string().optional(),
  prompt: z.string(),
  add_special_tokens: z.boolean().optional(),
});

export const tokenizeChatSchema = z.strictObject({
  model: z.string().optional(),
  messages: z.array(messageSchema).min(1).max(64),
  add_generation_prompt: z.boolean().optional(),
  continue_final_message: z.boolean().optional(),
  add_special_tokens: z.boolean().optional(),
});

export const detokenizeSchema = z.strictObject({
  model: z.string().optional(),
  tokens: z.array(int(0)).max(1 << 20),
  skip_special_tokens: z.boolean().optional(),
});
