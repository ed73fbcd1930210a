// `vzero gate`: the contrastive evidence gate over a JSONL file of teacher log-probs.
import { writeFile } from 'node:fs/promises';
import { computeGate, gateConfig, type GateConfig, type GatePreset } from '@vzero/gate';
import { InvalidInputError } from '@vzero/core';
import { readGateJsonl, type GateOutputLine } from '../gate-jsonl.js';

export interface GateCommandOptions {
  readonly in: string;
  readonly out: string;
  readonly preset?: string;
  readonly alpha?: number;
  readonly gamma?: number;
  readonly wMin?: number;
  readonly wMax?: number;
  readonly eps?: number;
  readonly metrics?: string;
}

export async function runGateCommand(
  options: GateCommandOptions,
): Promise<{ lines: number; config: GateConfig }> {
  const preset = options.preset ?? 'reference';
  if (preset !== 'paper' && preset !== 'reference') {
    throw new InvalidInputError('--preset', preset, 'expected "paper" or "reference"');
  }
  const overrides: Partial<{ -readonly [K in keyof GateConfig]: GateConfig[K] }> = {};
  if (options.alpha !== undefined) overrides.alpha = options.alpha;
  if (options.gamma !== undefined) overrides.gamma = options.gamma;
  if (options.wMin !== undefined) overrides.wMin = options.wMin;
  if (options.wMax !== undefined) overrides.wMax = options.wMax;
  if (options.eps !== undefined) overrides.eps = options.eps;
  const config = gateConfig(preset as GatePreset, overrides);
  const sequences = await readGateJsonl(options.in);
  const result = computeGate(sequences, config);
  const lines = sequences.map((s, i): GateOutputLine => ({
    group: s.group,
    score: result.scores[i] ?? Number.NaN,
    advantage: result.advantages[i] ?? Number.NaN,
    weight: result.weights[i] ?? Number.NaN,
  }));
  await writeFile(options.out, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  if (options.metrics) {
    await writeFile(
      options.metrics,
      JSON.stringify({ config, preset, diagnostics: result.diagnostics }, null, 2) + '\n',
    );
  }
  return { lines: lines.length, config };
}
