// Training curves as SVG (and PNG through @vzero/bench's svgToPng, the same sharp/librsvg
// renderer as the evaluation charts): a grid of small line charts, one per metric, with the
// Okabe-Ito palette that bench's charts use. One run: each panel one line (the evaluation
// panel one line per split). Several runs (`vzero compare`): each panel one line per run.
// Step metrics are drawn as TensorBoard draws them: the raw series faint, its debiased
// exponential moving average (TensorBoard's smoothing, weight 0.6 by default) bold. Evaluation
// accuracy, measured a few times per run, is its own panel and never smoothed. A panel whose
// points are all one value is left out; a line under the figure names it and its value.
import { join } from 'node:path';
import { svgToPng } from '@vzero/bench';
import { InvalidInputError, writeFileAtomic } from '@vzero/core';
import { evalSeries, stepSeries, type MetricsRecord, type Point } from './metrics.js';

// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies (as in @vzero/bench).
export const COLOURS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#000000',
  '#F0E442',
];

export interface CurveSeries {
  readonly label: string;
  readonly points: readonly Point[];
  readonly colour?: string;
}

export interface CurvePanel {
  readonly title: string;
  readonly series: readonly CurveSeries[];
  /** Fixed y range (accuracy: 0..1, shown as percent). */
  readonly percent?: boolean;
  /** A step to mark with a dashed vertical line (the step a report is about). */
  readonly markStep?: number;
  /**
   * Draw each series faint with its TensorBoard smoothing bold over it (step metrics, which are
   * noisy from step to step). Off: each series one line with its points marked (evaluations).
   */
  readonly smooth?: boolean;
}

/** TensorBoard's default smoothing weight (its scalar dashboard's slider starts at 0.6). */
export const SMOOTHING = 0.6;

/**
 * TensorBoard's smoothing of a scalar series (vz_line_chart2's resmoothDataset): an exponential
 * moving average started at 0 and debiased by 1 - weight^n, so the first value is itself and
 * early values are not pulled towards 0. A non-finite value is passed through and does not
 * enter the average; a series of one value is returned as it is. `weight` 0 is no smoothing.
 */
export function emaSmooth(ys: readonly number[], weight = SMOOTHING): number[] {
  if (!(weight >= 0 && weight < 1))
    throw new InvalidInputError('smoothing', weight, 'must be a number in [0, 1)');
  const constant = ys.every((y) => y === ys[0]);
  let last = 0;
  let n = 0;
  return ys.map((y) => {
    if (constant || !Number.isFinite(y)) return y;
    last = last * weight + (1 - weight) * y;
    n++;
    return last / (1 - weight ** n);
  });
}

/** Whether a panel has at least two points and every point of every series has the same y. */
export function isConstantPanel(panel: CurvePanel): boolean {
  const ys = panel.series.flatMap((s) => s.points.map((p) => p.y));
  return ys.length > 1 && ys.every((y) => y === ys[0]);
}

/** The step metrics drawn as curves, in panel order: key in the record and panel title. */
export const CURVE_METRICS: readonly { readonly key: string; readonly title: string }[] = [
  { key: 'loss', title: 'loss' },
  { key: 'gradNorm', title: 'gradient norm (before clipping)' },
  { key: 'lr', title: 'learning rate' },
  { key: 'gate.weightStd', title: 'gate: weight std' },
  { key: 'gate.fractionDeltaPositive', title: 'gate: share of tokens with delta > 0' },
  { key: 'gate.deltaMean', title: 'gate: mean delta = l+ - l-' },
  { key: 'gate.fractionAtWMin', title: 'gate: share of weights at wMin' },
  { key: 'rollout.identicalGroups', title: 'share of groups whose G responses are identical' },
  { key: 'reward', title: 'reward (GRPO)' },
];

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

export function formatNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

const PANEL_W = 440;
const PANEL_H = 260;
const M = { left: 64, right: 16, top: 40, bottom: 40 };

function panelSvg(
  panel: CurvePanel,
  ox: number,
  oy: number,
  ownLegend: boolean,
  smoothing: number,
): string[] {
  const out: string[] = [];
  const pw = PANEL_W - M.left - M.right;
  const ph = PANEL_H - M.top - M.bottom;
  const all = panel.series.flatMap((s) => s.points);
  let [xlo, xhi] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  let [ylo, yhi] = panel.percent
    ? [0, 1]
    : [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (!(xhi > xlo)) [xlo, xhi] = [xlo - 1, xhi + 1];
  if (!(yhi > ylo)) {
    const pad = Math.abs(ylo) * 0.1 || 1;
    [ylo, yhi] = [ylo - pad, yhi + pad];
  } else if (!panel.percent) {
    const pad = (yhi - ylo) * 0.05;
    [ylo, yhi] = [ylo - pad, yhi + pad];
  }
  const X = (x: number) => ox + M.left + ((x - xlo) / (xhi - xlo)) * pw;
  const Y = (y: number) => oy + M.top + (1 - (y - ylo) / (yhi - ylo)) * ph;
  out.push(
    `<g class="panel${panel.smooth ? ' smoothed' : ''}" data-title="${escapeXml(panel.title)}">`,
    `<text x="${ox + M.left}" y="${oy + 22}" font-size="14" font-weight="bold" fill="#111">${escapeXml(panel.title)}</text>`,
  );
  for (const t of niceTicks(ylo, yhi, 4)) {
    out.push(
      `<line x1="${X(xlo)}" y1="${Y(t)}" x2="${X(xhi)}" y2="${Y(t)}" stroke="#e3e3e3" stroke-width="1"/>`,
      `<text x="${X(xlo) - 6}" y="${Y(t) + 4}" text-anchor="end" font-size="11" fill="#333">${panel.percent ? `${Math.round(t * 100)}%` : formatNumber(t)}</text>`,
    );
  }
  // Steps are whole numbers: only whole ticks.
  for (const t of niceTicks(xlo, xhi, Math.min(5, Math.ceil(xhi - xlo))).filter((t) => Number.isInteger(t))) {
    out.push(
      `<line x1="${X(t)}" y1="${Y(ylo)}" x2="${X(t)}" y2="${Y(ylo) + 4}" stroke="#333" stroke-width="1"/>`,
      `<text x="${X(t)}" y="${Y(ylo) + 17}" text-anchor="middle" font-size="11" fill="#333">${formatNumber(t)}</text>`,
    );
  }
  out.push(
    `<rect x="${X(xlo)}" y="${Y(yhi)}" width="${pw}" height="${ph}" fill="none" stroke="#333" stroke-width="1"/>`,
    `<text x="${ox + M.left + pw / 2}" y="${oy + PANEL_H - 6}" text-anchor="middle" font-size="11" fill="#555">step</text>`,
  );
  if (panel.markStep !== undefined && panel.markStep >= xlo && panel.markStep <= xhi) {
    out.push(
      `<line class="mark" x1="${X(panel.markStep)}" y1="${Y(yhi)}" x2="${X(panel.markStep)}" y2="${Y(ylo)}" stroke="#555" stroke-width="1" stroke-dasharray="4 3"/>`,
    );
  }
  const line = (pts: readonly Point[], colour: string, attrs: string) =>
    `<polyline ${attrs} fill="none" stroke="${colour}" points="${pts.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`;
  panel.series.forEach((s, i) => {
    const colour = s.colour ?? (COLOURS[i % COLOURS.length] as string);
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const marks = pts.length <= 40;
    if (panel.smooth) {
      // Raw faint, smoothed bold, as in TensorBoard.
      const smoothed = emaSmooth(
        pts.map((p) => p.y),
        smoothing,
      ).map((y, k) => ({ x: (pts[k] as Point).x, y }));
      if (pts.length > 1) {
        out.push(line(pts, colour, 'class="raw" stroke-width="1" stroke-opacity="0.3"'));
        out.push(line(smoothed, colour, 'class="smoothed" stroke-width="2.2"'));
      }
      if (marks)
        for (const p of pts)
          out.push(
            `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="2.2" fill="${colour}" fill-opacity="${pts.length > 1 ? 0.35 : 1}"/>`,
          );
      return;
    }
    if (pts.length > 1) out.push(line(pts, colour, 'class="raw" stroke-width="1.8"'));
    if (marks)
      for (const p of pts)
        out.push(`<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="2.6" fill="${colour}"/>`);
  });
  if (ownLegend && panel.series.length > 1) {
    let y = oy + M.top + 14;
    panel.series.forEach((s, i) => {
      const colour = s.colour ?? (COLOURS[i % COLOURS.length] as string);
      const x = ox + PANEL_W - M.right - 150;
      out.push(
        `<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${colour}"/>`,
        `<text x="${x + 14}" y="${y}" font-size="11" fill="#111">${escapeXml(s.label.length > 22 ? `${s.label.slice(0, 21)}…` : s.label)}</text>`,
      );
      y += 14;
    });
  }
  out.push('</g>');
  return out;
}

export interface CurvesOptions {
  /** TensorBoard's smoothing weight for panels with `smooth` (default SMOOTHING, 0.6). */
  readonly smoothing?: number;
}

/** How a constant panel is named under the figure: its title and its one value. */
function constantNote(panel: CurvePanel): string {
  const y = panel.series.find((s) => s.points.length > 0)?.points[0]?.y as number;
  return `${panel.title} ${panel.percent ? `${formatNumber(y * 100)}%` : formatNumber(y)}`;
}

/**
 * A grid of panels (two columns) under a title; panels without points are left out, and so
 * are constant ones (every point one value: a flat line says nothing a number does not), which
 * a line under the grid names with their value. With `legend` (one entry per run) the figure
 * has one legend on top instead of one per panel. Smoothed panels get a line saying how.
 */
export function curvesSvg(
  title: string,
  panels: readonly CurvePanel[],
  legend?: readonly CurveSeries[],
  options: CurvesOptions = {},
): string {
  const smoothing = options.smoothing ?? SMOOTHING;
  emaSmooth([], smoothing); // checks the weight
  const withPoints = panels.filter((p) => p.series.some((s) => s.points.length > 0));
  const constant = withPoints.filter(isConstantPanel);
  const shown = withPoints.filter((p) => !isConstantPanel(p));
  const cols = shown.length > 1 ? 2 : 1;
  const rows = Math.max(1, Math.ceil(shown.length / cols));
  const legendH = legend && legend.length > 0 ? 24 : 0;
  const width = cols * PANEL_W + 16;
  const notes: { cls: string; text: string }[] = [];
  if (shown.some((p) => p.smooth))
    notes.push({
      cls: 'smoothing-note',
      text: `faint: every step; bold: smoothed as TensorBoard does (debiased exponential moving average, weight ${smoothing})`,
    });
  if (constant.length > 0)
    notes.push({
      cls: 'constant-note',
      text: `constant over the run, so not drawn: ${constant.map(constantNote).join('; ')}`,
    });
  const gridBottom = 40 + legendH + rows * PANEL_H;
  const height = gridBottom + 8 + notes.length * 18;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold" fill="#111">${escapeXml(title)}</text>`,
  ];
  if (legend && legend.length > 0) {
    let x = 24;
    legend.forEach((s, i) => {
      out.push(
        `<rect x="${x}" y="${48}" width="12" height="12" fill="${s.colour ?? COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${x + 18}" y="${58}" font-size="13" fill="#111">${escapeXml(s.label)}</text>`,
      );
      x += 34 + 7.5 * s.label.length;
    });
  }
  if (shown.length === 0) {
    out.push(
      `<text x="${width / 2}" y="${48 + legendH + 40}" text-anchor="middle" font-size="14" fill="#555">${constant.length > 0 ? 'every metric was constant' : 'no metrics recorded yet'}</text>`,
    );
  }
  shown.forEach((p, i) => {
    out.push(
      ...panelSvg(
        p,
        8 + (i % cols) * PANEL_W,
        40 + legendH + Math.floor(i / cols) * PANEL_H,
        legendH === 0,
        smoothing,
      ),
    );
  });
  notes.forEach((n, i) => {
    out.push(
      `<text class="${n.cls}" x="16" y="${gridBottom + 8 + i * 18}" font-size="12" fill="#444">${escapeXml(n.text)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * The panels of one run: evaluation accuracy first (a line per split, never smoothed), then each
 * step metric it has (smoothed).
 */
export function runPanels(records: readonly MetricsRecord[], label = 'run'): CurvePanel[] {
  const panels: CurvePanel[] = [];
  const evals = evalSeries(records);
  if (evals.size > 0) {
    panels.push({
      title: evals.size === 1 ? `evaluation accuracy: ${[...evals.keys()].join('')}` : 'evaluation accuracy',
      percent: true,
      series: [...evals].map(([split, points]) => ({ label: split, points })),
    });
  }
  for (const m of CURVE_METRICS)
    panels.push({ title: m.title, smooth: true, series: [{ label, points: stepSeries(records, m.key) }] });
  return panels;
}

export interface LabelledRun {
  readonly label: string;
  readonly records: readonly MetricsRecord[];
}

/**
 * The panels of several runs overlaid: a panel per evaluation split first (never smoothed), then
 * a line per run in each step metric (smoothed).
 */
export function comparisonPanels(runs: readonly LabelledRun[]): CurvePanel[] {
  const colour = (i: number) => COLOURS[i % COLOURS.length] as string;
  const panels: CurvePanel[] = [];
  const splits = [...new Set(runs.flatMap((r) => [...evalSeries(r.records).keys()]))];
  for (const split of splits) {
    panels.push({
      title: `evaluation accuracy: ${split}`,
      percent: true,
      series: runs.map((r, i) => ({
        label: r.label,
        points: evalSeries(r.records).get(split) ?? [],
        colour: colour(i),
      })),
    });
  }
  for (const m of CURVE_METRICS)
    panels.push({
      title: m.title,
      smooth: true,
      series: runs.map((r, i) => ({
        label: r.label,
        points: stepSeries(r.records, m.key),
        colour: colour(i),
      })),
    });
  return panels;
}

/** Writes `<base>.svg` and `<base>.png` into `dir`; returns their paths. */
export async function writeSvgAndPng(
  dir: string,
  base: string,
  svg: string,
): Promise<{ readonly svg: string; readonly png: string }> {
  const files = { svg: join(dir, `${base}.svg`), png: join(dir, `${base}.png`) };
  await writeFileAtomic(files.svg, svg);
  await writeFileAtomic(files.png, await svgToPng(svg));
  return files;
}
