// Command-line options of `pnpm bench`: which backend configurations, which sizes, which extra
// workloads. Bad values are InvalidInputError naming the option.
import { parseArgs } from 'node:util';
import { InvalidInputError } from '@vzero/core';

/** Backend configurations: each runs in its own child process. */
export const CONFIG_NAMES = ['cpu', 'cpu+native', 'wasm', 'wasm+native', 'node'] as const;
export type ConfigName = (typeof CONFIG_NAMES)[number];

export const SIZE_NAMES = ['quick', 'default'] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

/** Workloads a child can run; `core` = views, rollout, teacher, matmul shapes and training. */
export const WORKLOADS = ['views', 'rollout', 'teacher', 'matmul', 'train', 'wins', 'reference'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface SuiteOptions {
  readonly configs: readonly ConfigName[];
  readonly size: SizeName;
  /** Timed repetitions of every figure (after one warm-up). */
  readonly reps: number;
  /** Configurations that also measure the algorithmic wins (cache, prefix sharing, batching). */
  readonly wins: readonly ConfigName[];
  /** Configurations that also time the reference transformer (slow on the plain backends). */
  readonly reference: readonly ConfigName[];
  /** Run the numpy sgemm ceiling and the PyTorch reference (when python3 has them). */
  readonly python: boolean;
  /** Raise glibc's mmap/trim thresholds in the children (fewer page faults, more RSS). */
  readonly tuneMalloc: boolean;
  readonly json: string | undefined;
  readonly help: boolean;
}

export const USAGE = `pnpm bench [options]
  --configs LIST     backend configurations, comma-separated (default all):
                     ${CONFIG_NAMES.join(', ')}
  --quick            smoke run: small sizes, one repetition, no extras (a few seconds per config)
  --size NAME        ${SIZE_NAMES.join(' | ')} (default default; --quick sets quick)
  --reps N           timed repetitions per figure after a warm-up (default 3; quick 1)
  --wins LIST        configurations that also measure KV cache / prefix sharing / batching
                     (default wasm+native; "none" or "all")
  --reference LIST   configurations that also time the reference transformer
                     (default wasm+native; "none" or "all"; minutes per config on plain backends)
  --no-python        skip the numpy sgemm ceiling and the PyTorch reference
  --tune-malloc      raise glibc's mmap/trim thresholds in the children (and for PyTorch)
  --json FILE        also write the results as JSON
  --help`;

function list(value: string | undefined, field: string, fallback: readonly ConfigName[]): ConfigName[] {
  if (value === undefined) return [...fallback];
  if (value === 'none') return [];
  if (value === 'all') return [...CONFIG_NAMES];
  const names = value.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(CONFIG_NAMES as readonly string[]).includes(n)) {
      throw new InvalidInputError(field, n, `expected one of ${CONFIG_NAMES.join(', ')}, "all" or "none"`);
    }
  }
  return names as ConfigName[];
}

export function parseSuiteOptions(argv: readonly string[]): SuiteOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      configs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      size: { type: 'string' },
      reps: { type: 'string' },
      wins: { type: 'string' },
      reference: { type: 'string' },
      'no-python': { type: 'boolean', default: false },
      'tune-malloc': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const size = values.size ?? (values.quick ? 'quick' : 'default');
  if (!(SIZE_NAMES as readonly string[]).includes(size)) {
    throw new InvalidInputError('--size', size, `expected one of ${SIZE_NAMES.join(', ')}`);
  }
  const quick = size === 'quick';
  const reps = values.reps === undefined ? (quick ? 1 : 3) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1 || reps > 100) {
    throw new InvalidInputError('--reps', values.reps, 'expected an integer in [1, 100]');
  }
  return {
    configs: list(values.configs, '--configs', CONFIG_NAMES),
    size: size as SizeName,
    reps,
    wins: list(values.wins, '--wins', quick ? [] : ['wasm+native']),
    reference: list(values.reference, '--reference', quick ? [] : ['wasm+native']),
    python: !values['no-python'] && !quick,
    tuneMalloc: values['tune-malloc'],
    json: values.json,
    help: values.help,
  };
}

/** Problem sizes. `default` is the default V-Zero training config (train's config.ts). */
export interface SizeSpec {
  /** Samples in the generated world (train split). */
  readonly samples: number;
  readonly world: { readonly width: number; readonly height: number };
  /** Prompts per rollout / teacher measurement and per training step. */
  readonly prompts: number;
  /** G: rollouts per prompt. */
  readonly g: number;
  readonly maxTokens: number;
  readonly miniBatches: number;
}

export const SIZES: Record<SizeName, SizeSpec> = {
  quick: { samples: 4, world: { width: 256, height: 192 }, prompts: 2, g: 2, maxTokens: 4, miniBatches: 1 },
  default: {
    samples: 16,
    world: { width: 512, height: 384 },
    prompts: 8,
    g: 8,
    maxTokens: 12,
    miniBatches: 2,
  },
};
