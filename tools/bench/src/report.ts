// Plain-text tables of a suite run: per configuration the headline figures, the training time
// by stage, matmul rates against the BLAS ceiling, the algorithmic wins and the reference
// workload against PyTorch.
import type { ConfigResult, KernelTallyRow, SuiteResult } from './results.js';
import { formatFigure as f } from './stats.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

interface SgemmRun {
  readonly python: string;
  readonly blas?: string;
  readonly shapes?: readonly { readonly label: string; readonly gflops: readonly number[] }[];
}

/** Best numpy median GFLOP/s per shape label over the interpreters that ran. */
export function ceilingByShape(python: unknown): Map<string, { gflops: number; by: string }> {
  const out = new Map<string, { gflops: number; by: string }>();
  const runs = ((python as { sgemm?: SgemmRun[] } | undefined)?.sgemm ?? []).filter((r) => r.shapes);
  for (const r of runs) {
    for (const s of r.shapes ?? []) {
      const sorted = [...s.gflops].sort((a, b) => a - b);
      const med = sorted[sorted.length >> 1] ?? 0;
      const cur = out.get(s.label);
      if (!cur || med > cur.gflops) out.set(s.label, { gflops: med, by: `${r.python} (${r.blas ?? '?'})` });
    }
  }
  return out;
}

export function formatReport(r: SuiteResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}` +
      `${m.openblasCoretype ? `, OPENBLAS_CORETYPE=${m.openblasCoretype}` : ''}; load average ${r.loadAverage.start} -> ${r.loadAverage.end}`,
  );
  out.push('figures: median (min-max) of the timed repetitions\n');
  const ok = r.configs.filter((c) => c.available);
  out.push(
    table(
      [
        'config',
        'views/s',
        'rollout tok/s',
        'teacher tok/s',
        'train steps/s',
        'peak RSS MiB',
        'tensors start/after steps',
      ],
      r.configs.map((c) =>
        c.available
          ? [
              c.config,
              f(c.viewsPerSecond),
              f(c.rolloutTokensPerSecond),
              f(c.teacherTokensPerSecond),
              f(c.train?.stepsPerSecond, 3),
              (c.peakRssMiB ?? 0).toFixed(0),
              `${c.tensors?.['start'] ?? '?'} / ${c.train?.tensorsAfterStep.join(',') ?? '?'}`,
            ]
          : [
              c.config,
              `unavailable (see JSON): ${(c.reason ?? '').split('\n')[0]!.slice(0, 60)}...`,
              '',
              '',
              '',
              '',
              '',
            ],
      ),
    ),
  );
  for (const c of ok.filter((x) => x.errors))
    out.push(
      `${c.config}: failed workloads: ${Object.entries(c.errors!)
        .map(([k, v]) => `${k} (${v.split('\n')[0]})`)
        .join('; ')}`,
    );
  const stages = [...new Set(ok.flatMap((c) => Object.keys(c.train?.stageMs ?? {})))];
  if (stages.length) {
    out.push('\ntraining step, ms by stage');
    out.push(
      table(
        ['config', ...stages],
        ok.map((c) => [c.config, ...stages.map((s) => f(c.train?.stageMs[s], 0))]),
      ),
    );
  }
  const ceiling = ceilingByShape(r.python);
  const shapes = [...new Set(ok.flatMap((c) => (c.matmul ?? []).map((x) => x.shape)))];
  if (shapes.length) {
    out.push('\nmatmul GFLOP/s (and fraction of the numpy BLAS ceiling on the same shape)');
    out.push(
      table(
        ['shape', 'model', 'numpy BLAS', ...ok.map((c) => c.config)],
        shapes.map((s) => {
          const ceil = ceiling.get(s)?.gflops;
          const model = ok.flatMap((c) => c.matmul ?? []).find((x) => x.shape === s)?.model ?? '';
          return [
            s,
            model,
            ceil ? ceil.toFixed(1) : 'n/a',
            ...ok.map((c) => {
              const g = c.matmul?.find((x) => x.shape === s)?.gflops;
              return g ? `${f(g, 1)}${ceil ? ` [${(g.median / ceil).toFixed(2)}]` : ''}` : 'n/a';
            }),
          ];
        }),
      ),
    );
    const sq = ceiling.get('[1024x1024]x[1024x1024]');
    if (sq) out.push(`numpy sgemm at n = 1024: ${sq.gflops.toFixed(1)} GFLOP/s (${sq.by})`);
  }
  for (const c of ok.filter((x) => x.wins)) {
    const w = c.wins!;
    out.push(`\nalgorithmic wins on ${c.config} (tokens/s)`);
    out.push(
      table(
        ['path', 'rollout', 'teacher'],
        Object.keys(w.rollout).map((k) => [k, f(w.rollout[k]), f(w.teacher[k])]),
      ),
    );
    out.push(
      Object.entries(w.ratios)
        .map(([k, v]) => `${k} ${v.toFixed(2)}x`)
        .join(', '),
    );
  }
  for (const c of ok.filter((x) => x.trainTopKernels)) {
    const top = c.trainTopKernels!.slice(0, 8).map(kernelText);
    out.push(`\n${c.config} kernels of one V-Zero training step: ${top.join(', ')}`);
  }
  const refs = ok.filter((c) => c.reference);
  const torch = ((r.python as { torch?: Record<string, unknown>[] } | undefined)?.torch ?? []).filter(
    (t) => t['stepMs'],
  );
  if (refs.length || torch.length) {
    out.push('\nreference transformer (d 128, 4 layers, 4 heads, T 96, batch 64, vocab 64)');
    const rows = refs.map((c) => [
      c.config,
      f(c.reference!.stepMs, 0),
      f(c.reference!.decodeMs, 0),
      f(c.reference!.decodeTokensPerSecond),
    ]);
    for (const t of torch) {
      const fig = (xs: unknown) => {
        const s = [...(xs as number[])].sort((a, b) => a - b);
        return `${s[s.length >> 1]!.toFixed(0)} (${s[0]!.toFixed(0)}-${s[s.length - 1]!.toFixed(0)})`;
      };
      rows.push([
        `PyTorch ${String(t['torch'])} (${String(t['threads'])} threads)`,
        fig(t['stepMs']),
        fig(t['decodeMs']),
        Number(t['decodeTokensPerSecond']).toFixed(1),
      ]);
    }
    out.push(table(['stack', 'train step ms', 'greedy decode 16 x 64 ms', 'decode tok/s'], rows));
    for (const c of refs) {
      const top = c.reference!.topKernels.slice(0, 6).map(kernelText);
      out.push(`  ${c.config} kernels of one step: ${top.join(', ')}`);
    }
  }
  return out.join('\n');
}

/** "Sum 45 ms/61 (most: [64,4,96,96] 30 ms/8)": a kernel's total and its heaviest input shapes. */
function kernelText(k: KernelTallyRow): string {
  const h = k.heaviest;
  const most = h && h.calls < k.calls ? ` (most: ${h.shapes} ${h.ms.toFixed(0)} ms/${h.calls})` : '';
  return `${k.name} ${k.ms.toFixed(0)} ms/${k.calls}${most}`;
}

export type { ConfigResult };
