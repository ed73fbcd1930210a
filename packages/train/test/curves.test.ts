// The training curves (tracking/curves.ts): TensorBoard's smoothing against values worked out by
// hand, and what the figure draws: raw faint and smoothed bold, evaluation accuracy in a panel of
// its own and never smoothed, and no panel for a constant series (named under the figure).
import { describe, expect, it } from 'vitest';
import { curvesSvg, emaSmooth, isConstantPanel, runPanels, SMOOTHING } from '../src/tracking/curves.js';
import type { MetricsRecord } from '../src/tracking/metrics.js';

describe("TensorBoard's smoothing (debiased EMA)", () => {
  it('matches values worked out by hand', () => {
    expect(SMOOTHING).toBe(0.6);
    // w 0.6 on 1, 2, 3:
    //   last = 0.4 * 1 = 0.4;                  / (1 - 0.6)   = 0.4   -> 1
    //   last = 0.6 * 0.4 + 0.4 * 2 = 1.04;     / (1 - 0.36)  = 0.64  -> 1.625
    //   last = 0.6 * 1.04 + 0.4 * 3 = 1.824;   / (1 - 0.216) = 0.784 -> 2.326530612...
    const s = emaSmooth([1, 2, 3]);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(1.625, 12);
    expect(s[2]).toBeCloseTo(1.824 / 0.784, 12);
    // Starting at 0 is not a pull towards 0: 0, 10 -> 0, 4 / 0.64 = 6.25.
    expect(emaSmooth([0, 10])).toEqual([0, expect.closeTo(6.25, 12)]);
    // w 0.5 on 1, NaN, 3: NaN passes through and is not counted:
    //   0.5 / 0.5 = 1; NaN; last = 0.5 * 0.5 + 0.5 * 3 = 1.75, / (1 - 0.25) -> 2.333...
    const gap = emaSmooth([1, Number.NaN, 3], 0.5);
    expect(gap[0]).toBeCloseTo(1, 12);
    expect(gap[1]).toBeNaN();
    expect(gap[2]).toBeCloseTo(1.75 / 0.75, 12);
  });

  it('leaves a constant series and weight 0 alone, and refuses a weight outside [0, 1)', () => {
    expect(emaSmooth([0.3, 0.3, 0.3])).toEqual([0.3, 0.3, 0.3]);
    expect(emaSmooth([5, -1, 2], 0)).toEqual([5, -1, 2]);
    expect(emaSmooth([])).toEqual([]);
    for (const w of [1, -0.1, Number.NaN])
      expect(() => emaSmooth([1, 2], w)).toThrow(`smoothing = ${w}: must be a number in [0, 1)`);
  });
});

/** A run of 6 steps: noisy loss, constant learning rate, and two evaluations. */
const records: MetricsRecord[] = [
  { event: 'eval', step: 0, split: 'val', accuracy: 0.25, n: 4 },
  ...[1, 0, 1, 0, 1, 0].map((loss, i) => ({ step: i + 1, loss, lr: 0.01, gradNorm: 2 + i })),
  { event: 'eval', step: 6, split: 'val', accuracy: 0.5, n: 4 },
];

/** The `<g>` of the panel titled `title`. */
const panel = (svg: string, title: string) => {
  const at = svg.indexOf(`data-title="${title}"`);
  return at < 0 ? '' : svg.slice(at, svg.indexOf('</g>', at));
};
const ys = (polyline: string) =>
  (/points="([^"]*)"/.exec(polyline)?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[1]));

describe('the curves figure', () => {
  const svg = curvesSvg('training curves: t', runPanels(records, 't'));

  it('evaluation accuracy comes first, in a panel of its own, not smoothed', () => {
    const titles = [...svg.matchAll(/data-title="([^"]*)"/g)].map((m) => m[1]);
    expect(titles[0]).toBe('evaluation accuracy: val');
    const evals = panel(svg, 'evaluation accuracy: val');
    expect(evals).not.toContain('class="smoothed"');
    expect(evals).toContain('50%');
  });

  it('draws a step metric raw and faint, and smoothed and bold over it', () => {
    const loss = panel(svg, 'loss');
    const raw = /<polyline class="raw"[^>]*>/.exec(loss)?.[0] ?? '';
    const smooth = /<polyline class="smoothed"[^>]*>/.exec(loss)?.[0] ?? '';
    expect(raw).toContain('stroke-opacity="0.3"');
    expect(smooth).toContain('stroke-width="2.2"');
    expect(smooth).not.toContain('stroke-opacity');
    // Smoothing narrows the 0/1 zigzag: the smoothed line spans fewer pixels than the raw one.
    const span = (v: number[]) => Math.max(...v) - Math.min(...v);
    expect(span(ys(smooth))).toBeLessThan(span(ys(raw)) * 0.8);
    expect(svg).toContain(
      'bold: smoothed as TensorBoard does (debiased exponential moving average, weight 0.6)',
    );
  });

  it('leaves out a constant series and names it with its value', () => {
    expect(panel(svg, 'learning rate')).toBe('');
    expect(svg).toContain('constant over the run, so not drawn: learning rate 0.01');
    expect(panel(svg, 'gradient norm (before clipping)')).not.toBe('');
    expect(isConstantPanel({ title: 'one point', series: [{ label: 'a', points: [{ x: 1, y: 2 }] }] })).toBe(
      false,
    );
  });

  it('takes another smoothing weight, and refuses a bad one', () => {
    const none = curvesSvg('t', runPanels(records, 't'), undefined, { smoothing: 0 });
    const loss = panel(none, 'loss');
    const raw = /<polyline class="raw"[^>]*>/.exec(loss)?.[0] ?? '';
    const smooth = /<polyline class="smoothed"[^>]*>/.exec(loss)?.[0] ?? '';
    expect(ys(smooth)).toEqual(ys(raw)); // weight 0: the smoothed line is the raw one
    expect(() => curvesSvg('t', runPanels(records, 't'), undefined, { smoothing: 1 })).toThrow(
      'smoothing = 1',
    );
  });
});
