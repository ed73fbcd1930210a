// On-policy rollouts: n responses per prompt from any Policy, batched across prompts, checked
// and turned into the pipeline's Trajectory records.
import {
  deriveSeed,
  InvalidInputError,
  ShapeMismatchError,
  VZeroError,
  type Policy,
  type Prompt,
  type SampledResponse,
  type SamplingOptions,
  type Trajectory,
} from '@vzero/core';
import { validateRolloutOptions, type RolloutOptions } from './options.js';

/** The group id of prompt `promptId`'s rollouts under `seed`: unique per prompt and step. */
export function groupIdFor(promptId: string, seed: number): string {
  return `${promptId}@${seed}`;
}

/**
 * A Policy that promises per-prompt seeding: with `samplingSeedScope: 'prompt-id'`, a prompt's
 * rollouts depend only on (options.seed, prompt.id, the prompt, the other options), never on
 * which other prompts share the call or where the prompt sits in it. Such policies are sampled
 * in chunks of `batchSize` prompts; any other policy gets one call per prompt with the seed
 * `deriveSeed(seed, prompt.id)`, which gives the same guarantee at the cost of batching.
 */
export interface PromptSeededPolicy extends Policy {
  readonly samplingSeedScope: 'prompt-id';
}

/** Whether `policy` seeds each prompt from its id (and so may be batched reproducibly). */
export function isPromptSeeded(policy: Policy): policy is PromptSeededPolicy {
  return (policy as Partial<PromptSeededPolicy>).samplingSeedScope === 'prompt-id';
}

/** A policy returned something that breaks the Policy contract. */
export class PolicyOutputError extends VZeroError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('POLICY_OUTPUT', `${field}: ${message}`);
    this.field = field;
  }
}

function checkPrompts(prompts: readonly Prompt[]): void {
  const seen = new Map<string, number>();
  prompts.forEach((p, i) => {
    if (typeof p?.id !== 'string' || p.id === '') {
      throw new InvalidInputError(`prompts[${i}].id`, p?.id, 'expected a non-empty string');
    }
    const first = seen.get(p.id);
    if (first !== undefined) {
      throw new InvalidInputError(
        `prompts[${i}].id`,
        p.id,
        `duplicate of prompts[${first}].id: rollouts are grouped and seeded by prompt id`,
      );
    }
    seen.set(p.id, i);
  });
}

function toTrajectory(
  response: SampledResponse,
  prompt: Prompt,
  index: number,
  seed: number,
  maxTokens: number,
  where: string,
): Trajectory {
  const len = response.tokenIds.length;
  if (response.logprobs.length !== len) {
    throw new ShapeMismatchError(
      `${where}.logprobs`,
      `${len} values (one per token)`,
      `${response.logprobs.length}`,
    );
  }
  if (response.samplingLogprobs.length !== len) {
    throw new ShapeMismatchError(
      `${where}.samplingLogprobs`,
      `${len} values (one per token)`,
      `${response.samplingLogprobs.length}`,
    );
  }
  if (len > maxTokens) throw new PolicyOutputError(where, `${len} tokens exceed maxTokens ${maxTokens}`);
  for (let k = 0; k < len; k++) {
    const lp = response.logprobs[k] ?? Number.NaN;
    if (!Number.isFinite(lp)) throw new PolicyOutputError(`${where}.logprobs[${k}]`, `log-prob is ${lp}`);
  }
  return {
    promptId: prompt.id,
    groupId: groupIdFor(prompt.id, seed),
    index,
    tokenIds: response.tokenIds.slice(),
    logprobs: response.logprobs,
    samplingLogprobs: response.samplingLogprobs,
    mask: new Uint8Array(len).fill(1),
    finishReason: response.finishReason,
    text: response.text,
  };
}

/**
 * Samples `options.n` rollouts for every prompt: result[i][g] is rollout g of prompt i.
 *
 * Reproducibility: a prompt's rollouts depend on (seed, prompt id), never on `batchSize` or on
 * the prompt's neighbours. A policy that declares `samplingSeedScope: 'prompt-id'` gets chunks of
 * `batchSize` prompts per call with `options.seed`; any other policy gets one call per prompt
 * with `deriveSeed(seed, prompt.id)` (the only way to give it a per-prompt seed through the
 * Policy contract). Prompt ids must therefore be unique within a call.
 */
export async function sample(
  policy: Policy,
  prompts: readonly Prompt[],
  options: RolloutOptions,
): Promise<Trajectory[][]> {
  validateRolloutOptions(options);
  checkPrompts(prompts);
  const batched = isPromptSeeded(policy);
  const batchSize = batched ? (options.batchSize ?? Math.max(1, prompts.length)) : 1;
  const base: SamplingOptions = {
    n: options.n,
    temperature: options.temperature,
    topP: options.topP,
    topK: options.topK,
    maxTokens: options.maxTokens,
    seed: options.seed,
    ...(options.stop !== undefined ? { stop: options.stop } : {}),
  };
  const out: Trajectory[][] = [];
  let tokens = 0;
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    const seed = batched ? options.seed : deriveSeed(options.seed, (chunk[0] as Prompt).id);
    const responses = await policy.sample(chunk, { ...base, seed });
    if (!Array.isArray(responses) || responses.length !== chunk.length) {
      throw new ShapeMismatchError(
        `${policy.name}.sample result`,
        `${chunk.length} prompt groups`,
        `${Array.isArray(responses) ? responses.length : typeof responses}`,
      );
    }
    chunk.forEach((prompt, j) => {
      const group = responses[j] ?? [];
      if (group.length !== options.n) {
        throw new ShapeMismatchError(
          `${policy.name}.sample result[${start + j}] (prompt ${prompt.id})`,
          `${options.n} responses`,
          `${group.length}`,
        );
      }
      const trajectories = group.map((r, g) =>
        toTrajectory(r, prompt, g, options.seed, options.maxTokens, `prompt ${prompt.id} rollout ${g}`),
      );
      for (const t of trajectories) tokens += t.tokenIds.length;
      out.push(trajectories);
    });
    options.onProgress?.({
      promptsDone: out.length,
      promptsTotal: prompts.length,
      trajectories: out.length * options.n,
      tokens,
    });
  }
  return out;
}
