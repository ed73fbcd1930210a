// `vzero gate`: the contrastive evidence gate over a JSONL file of teacher log-probs.
import { dirname } from 'node:path';
import { z } from 'zod';
import { DEFAULT_GATE_PRESET, gateConfig, type GateConfig, type GatePreset } from '@vzero/gate';
import { InvalidInputError, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { streamGate } from '../gate-jsonl.js';
import { assertOutputsApart, sameFile } from '../run/fs-safety.js';
import { flag } from './options.js';

/** `vzero gate`'s options (runGateCommand takes them with `out` for --out-file). */
export const GATE_OPTIONS = z.strictObject({
  in: flag(z.string(), 'input JSONL: {"group", "teacher_pos": [...], "teacher_neg": [...], "mask"?: [...]}', {
    value: 'file',
  }),
  outFile: flag(
    z.string(),
    'output JSONL: {"group", "score", "advantage", "weight"} per input line, in order (required)',
    { value: 'file', deprecated: ['--out'] },
  ),
  preset: flag(z.string().default(DEFAULT_GATE_PRESET), 'paper (alpha 1) or reference (alpha 0.5)', {
    value: 'name',
  }),
  alpha: flag(
    z
      .number()
      .min(0, 'a negative alpha inverts the gate: rollouts the evidence supports get less weight')
      .optional(),
    'gate strength (>= 0)',
    { value: 'a' },
  ),
  gamma: flag(z.number().optional(), 'penalty on negative evidence (>= 0; 1 gives the plain delta)', {
    value: 'g',
  }),
  wMin: flag(z.number().optional(), 'lower clip of the weights', { value: 'x' }),
  wMax: flag(z.number().optional(), 'upper clip of the weights', { value: 'y' }),
  eps: flag(z.number().optional(), 'numerical floor', { value: 'e' }),
  metrics: flag(z.string().optional(), 'write the batch diagnostics as JSON', { value: 'file' }),
});

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
  const preset = options.preset ?? DEFAULT_GATE_PRESET;
  if (preset !== 'paper' && preset !== 'reference') {
    throw new InvalidInputError('--preset', preset, 'expected "paper" or "reference"');
  }
  const overrides: Partial<{ -readonly [K in keyof GateConfig]: GateConfig[K] }> = {};
  if (options.alpha !== undefined) overrides.alpha = options.alpha;
  if (options.gamma !== undefined) overrides.gamma = options.gamma;
  if (options.wMin !== undefined) overrides.wMin = options.wMin;
  if (options.wMax !== undefined) overrides.wMax = options.wMax;
  if (options.eps !== undefined) overrides.eps = options.eps;
  if (options.alpha !== undefined && !(options.alpha >= 0)) {
    throw new InvalidInputError(
      '--alpha',
      options.alpha,
      'expected >= 0: a negative alpha inverts the gate (rollouts the evidence supports get less weight)',
    );
  }
  const config = gateConfig(preset as GatePreset, overrides);
  // Outputs are checked before anything is read or written: never the input, never each other.
  const outputs = [
    { field: '--out-file', path: options.out },
    ...(options.metrics ? [{ field: '--metrics', path: options.metrics }] : []),
  ];
  await assertOutputsApart(outputs, [{ field: '--in', path: options.in }]);
  if (options.metrics && (await sameFile(options.out, options.metrics))) {
    throw new InvalidInputError(
      '--metrics',
      options.metrics,
      'is the same file as --out-file; choose another',
    );
  }
  for (const o of outputs) await ensureWritableDir(dirname(o.path), o.field);
  // Streamed: memory does not grow with the file's text (a few bytes per rollout).
  const { lines, diagnostics } = await streamGate(options.in, options.out, config);
  if (options.metrics) {
    await writeFileAtomic(options.metrics, JSON.stringify({ config, preset, diagnostics }, null, 2) + '\n');
  }
  return { lines, config };
}
