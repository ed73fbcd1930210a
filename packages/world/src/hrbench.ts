// Loader for the HR-Bench TSV layout (DreamMr/HR-Bench hr_bench_4k.tsv / hr_bench_8k.tsv, the
// VLMEvalKit convention). Tab-separated with a header; columns used:
//   index (int), question, answer (letter), A, B, C, D (option texts), image (base64 JPEG/PNG,
//   or the index of an earlier row whose image it shares), category ("single" / "cross"),
//   cycle_category (which cyclic rotation of the options this row is).
// Each question appears once per cyclic order of its options; every row is loaded as a sample.
// HR-Bench has no target boxes: `boxes` is empty, supply boxes from a detector for V-Zero.
import sharp from 'sharp';
import { InvalidInputError, optionLetter } from '@vzero/core';
import { defaultReadText, readRequired, stripBom, type LoadOptions } from './manifest.js';
import type { BenchmarkSample } from './vstar.js';

/** HR-Bench sample: a benchmark sample plus its cyclic-order tag. */
export type HRBenchSample = BenchmarkSample & { readonly cycleCategory?: string };

/** Splits TSV text into rows of fields; double-quoted fields may hold tabs, newlines and "" escapes. */
export function parseTsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let fieldText = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          fieldText += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else fieldText += ch;
      i++;
      continue;
    }
    if (ch === '"' && fieldText === '') quoted = true;
    else if (ch === '\t') {
      row.push(fieldText);
      fieldText = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(fieldText);
      rows.push(row);
      row = [];
      fieldText = '';
    } else fieldText += ch;
    i++;
  }
  if (fieldText !== '' || row.length > 0) {
    row.push(fieldText);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

const REQUIRED = ['index', 'question', 'answer', 'A', 'B', 'image'] as const;

/** Loads an HR-Bench TSV file. */
export async function loadHRBench(tsvPath: string, options: LoadOptions = {}): Promise<HRBenchSample[]> {
  const text = await readRequired(tsvPath, 'tsv', options.readText ?? defaultReadText);
  // A byte-order mark would otherwise be read as part of the first column's name.
  const [header, ...rows] = parseTsv(stripBom(text));
  if (!header) throw new InvalidInputError('tsv', tsvPath, 'empty file');
  const col = new Map(header.map((name, i) => [name, i]));
  for (const name of REQUIRED) {
    if (!col.has(name)) throw new InvalidInputError(`tsv column ${name}`, header, 'missing column');
  }
  const get = (row: string[], name: string): string | undefined => {
    const i = col.get(name);
    return i === undefined ? undefined : row[i];
  };
  const imageByIndex = new Map<string, string>();
  const samples: HRBenchSample[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as string[];
    const line = r + 2; // header is line 1
    const index = (get(row, 'index') ?? '').trim();
    if (!/^-?\d+$/.test(index))
      throw new InvalidInputError(`tsv line ${line}: index`, index, 'expected an integer');
    let image = (get(row, 'image') ?? '').trim();
    // VLMEvalKit stores a repeated image once; later rows hold the earlier row's index instead.
    if (/^\d+$/.test(image) && image.length <= 64) {
      const shared = imageByIndex.get(image);
      if (shared === undefined)
        throw new InvalidInputError(`tsv line ${line}: image`, image, 'refers to an unknown index');
      image = shared;
    }
    if (image === '')
      throw new InvalidInputError(`tsv line ${line}: image`, image, 'expected base64 image data');
    imageByIndex.set(index, image);
    const options: string[] = [];
    for (const letter of ['A', 'B', 'C', 'D', 'E', 'F']) {
      const v = get(row, letter);
      if (v === undefined || v.trim() === '' || v === 'nan') break;
      options.push(v);
    }
    if (options.length < 2)
      throw new InvalidInputError(`tsv line ${line}: options`, options, 'expected at least two options');
    const answer = (get(row, 'answer') ?? '').trim().toUpperCase();
    const answerIndex = options.findIndex((_, i) => optionLetter(i) === answer);
    if (answerIndex < 0)
      throw new InvalidInputError(
        `tsv line ${line}: answer`,
        answer,
        `expected a letter A-${optionLetter(options.length - 1)}`,
      );
    const bytes = new Uint8Array(Buffer.from(image, 'base64'));
    let meta;
    try {
      meta = await sharp(bytes).metadata();
    } catch (error) {
      throw new InvalidInputError(
        `tsv line ${line}: image`,
        image.slice(0, 40),
        `not a decodable image (${(error as Error).message})`,
      );
    }
    const cycle = get(row, 'cycle_category');
    samples.push({
      id: `hrbench-${index}`,
      image: { bytes },
      question: get(row, 'question') ?? '',
      options,
      boxes: [],
      category: get(row, 'category') || 'hrbench',
      answer,
      answerIndex,
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      ...(cycle !== undefined && cycle !== '' ? { cycleCategory: cycle } : {}),
    });
  }
  return samples;
}
