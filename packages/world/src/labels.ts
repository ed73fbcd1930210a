// The answers of a dataset folder. This is the only module that names the labels file: the
// label-free loader (manifest.ts) has no way to reach it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, optionLetter, type LabelledSample } from '@vzero/core';
import type { Split } from './config.js';
import { parseJsonl, toJsonl } from './jsonl.js';
import {
  defaultReadText,
  readManifest,
  readRequired,
  rowToSample,
  splitDir,
  type LoadOptions,
} from './manifest.js';
import type { WorldFacts } from './scene.js';

export const LABELS_FILE = 'labels.jsonl';

/** One row of labels.jsonl. */
export interface LabelRow {
  readonly id: string;
  /** Correct option letter ("A", ...). */
  readonly answer: string;
  readonly answerIndex: number;
  /** The evidence a reference response states (world datasets); absent for imported data. */
  readonly facts?: WorldFacts;
}

/** A labelled world sample: core's LabelledSample plus image size and evidence facts. */
export type WorldLabelledSample = LabelledSample & {
  readonly width: number;
  readonly height: number;
  readonly facts?: WorldFacts;
};

export async function writeLabels(folder: string, rows: readonly LabelRow[]): Promise<void> {
  await writeFile(join(folder, LABELS_FILE), toJsonl(rows));
}

/** Reads `<dir>/<split>/labels.jsonl`, keyed by sample id. */
export async function readLabels(
  dir: string,
  split: Split | string,
  options: LoadOptions = {},
): Promise<Map<string, LabelRow>> {
  const file = `${split}/${LABELS_FILE}`;
  const text = await readRequired(
    join(splitDir(dir, split), LABELS_FILE),
    file,
    options.readText ?? defaultReadText,
  );
  const out = new Map<string, LabelRow>();
  for (const { line, value } of parseJsonl(text, file)) {
    const { id, answer, answerIndex, facts } = value;
    if (typeof id !== 'string' || id === '')
      throw new InvalidInputError(`${file} line ${line}: id`, id, 'expected a non-empty string');
    if (typeof answerIndex !== 'number' || !Number.isInteger(answerIndex) || answerIndex < 0) {
      throw new InvalidInputError(
        `${file} line ${line}: answerIndex`,
        answerIndex,
        'expected an integer >= 0',
      );
    }
    if (answer !== optionLetter(answerIndex)) {
      throw new InvalidInputError(
        `${file} line ${line}: answer`,
        answer,
        `expected "${optionLetter(answerIndex)}" for answerIndex ${answerIndex}`,
      );
    }
    const row: LabelRow =
      facts === undefined
        ? { id, answer, answerIndex }
        : { id, answer, answerIndex, facts: facts as WorldFacts };
    out.set(id, row);
  }
  return out;
}

/** Loads a split with its answers and evidence facts (baselines, pre-training, evaluation). */
export async function loadLabelled(
  dir: string,
  split: Split | string,
  options: LoadOptions = {},
): Promise<WorldLabelledSample[]> {
  const rows = await readManifest(dir, split, options);
  const labels = await readLabels(dir, split, options);
  const folder = splitDir(dir, split);
  return rows.map((row) => {
    const label = labels.get(row.id);
    if (!label)
      throw new InvalidInputError(`${split}/${LABELS_FILE}: id`, row.id, 'no label for this manifest id');
    if (label.answerIndex >= row.options.length) {
      throw new InvalidInputError(
        `${split}/${LABELS_FILE}: answerIndex of ${row.id}`,
        label.answerIndex,
        `only ${row.options.length} options`,
      );
    }
    const base = { ...rowToSample(row, folder), answer: label.answer, answerIndex: label.answerIndex };
    return label.facts === undefined ? base : { ...base, facts: label.facts };
  });
}
