// A real tiny checkpoint (random weights, the teacher's two image slots) saved to a temporary
// folder, and PNG data URLs of solid-colour images made with sharp.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL_PRESETS, Tokenizer, createModel, saveCheckpoint } from '@vzero/model';
import { makeView } from '@vzero/views';

export const WORDS = ['what', 'colour', 'is', 'the', 'sign', '?', 'A', 'B', 'red', 'green', 'answer', '.'];

/** Saves a tiny checkpoint; returns its folder and a cleanup function. */
export async function tinyCheckpoint(initSeed = 2): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'vzero-serve-'));
  const dir = join(root, 'tiny');
  const tokenizer = Tokenizer.fromWords(WORDS);
  const model = createModel({ ...MODEL_PRESETS.tiny, initSeed, vocabSize: tokenizer.size });
  await saveCheckpoint(dir, model, tokenizer, { source: 'test' });
  model.dispose();
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A PNG data URL of a size x size image of one colour (8-bit RGB). */
export async function solidDataUrl(size: number, rgb: readonly [number, number, number]): Promise<string> {
  const bytes = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) bytes.set(rgb, p * 3);
  const png = await makeView(bytes, size, size).png();
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
