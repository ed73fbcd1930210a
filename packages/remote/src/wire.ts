// Response schemas: what the client reads from a server, validated so that a malformed or
// truncated answer is a retryable error at the boundary, never a NaN in a trajectory.
import { z } from 'zod';

const logprob = z.number().refine((v) => Number.isFinite(v) && v <= 1e-4, 'expected a finite log-prob <= 0');

export const modelsResponse = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      max_model_len: z.number().int().positive().optional(),
      vzero_tokenizer_id: z.string().optional(),
      /** `vzero serve`: the model's image slots in prompt order (role, size in pixels). */
      vzero_image_slots: z
        .array(z.object({ role: z.enum(['full', 'crop']), size: z.number().int().positive() }).loose())
        .optional(),
      vzero_vocabulary: z
        .object({
          tokens: z.array(z.string()),
          special_ids: z.array(z.number().int()),
          joiner: z.string(),
          /** `vzero serve` with a byte fallback or byte-level BPE: ids byte_base .. byte_base + 255 are UTF-8 bytes. */
          byte_base: z.number().int().min(0).optional(),
        })
        .optional(),
    }),
  ),
});
export type ModelEntry = z.infer<typeof modelsResponse>['data'][number];

const topLogprob = z.object({ token: z.string(), logprob });

export const chatResponse = z.object({
  choices: z.array(
    z.object({
      index: z.number().int().min(0),
      message: z.object({ content: z.string().nullable().optional() }),
      finish_reason: z.string().nullable(),
      logprobs: z.object({
        content: z.array(
          z.object({
            token: z.string(),
            logprob,
            top_logprobs: z.array(topLogprob).optional(),
            vzero_sampling_logprob: logprob.optional(),
          }),
        ),
      }),
    }),
  ),
});
export type ChatResponse = z.infer<typeof chatResponse>;

const promptEntry = z
  .record(z.string(), z.object({ logprob, rank: z.number().int().nullable().optional() }))
  .nullable();
export type PromptLogprobEntry = z.infer<typeof promptEntry>;

export const completionResponse = z.object({
  choices: z.array(z.object({ prompt_logprobs: z.array(promptEntry) })).min(1),
});

export const chatScoreResponse = z.object({ prompt_logprobs: z.array(promptEntry) });

export const tokenizeResponse = z.object({ tokens: z.array(z.number().int().min(0)) });
export const detokenizeResponse = z.object({ prompt: z.string() });
