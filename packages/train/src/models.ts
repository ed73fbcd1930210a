// Loading the student and teacher from checkpoint folders, with the checks that keep teacher
// scores meaningful: both must share one tokenizer.
import { LocalPolicy, loadCheckpoint, type Tokenizer, type VisionLanguageModel } from '@vzero/model';
import { InvalidInputError } from '@vzero/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface LoadedPolicy {
  readonly model: VisionLanguageModel;
  readonly tokenizer: Tokenizer;
  readonly policy: LocalPolicy;
  readonly metadata: Record<string, unknown>;
}

export async function loadPolicy(
  dir: string,
  field: string,
  name: string,
  tokenizerId?: string,
): Promise<LoadedPolicy> {
  if (!existsSync(join(dir, 'config.json'))) {
    throw new InvalidInputError(
      field,
      dir,
      'no model checkpoint here; build one with `vzero pretrain student|teacher`',
    );
  }
  const { model, tokenizer, metadata } = await loadCheckpoint(dir, tokenizerId ? { tokenizerId } : {});
  return { model, tokenizer, metadata, policy: new LocalPolicy(model, tokenizer, { name }) };
}
