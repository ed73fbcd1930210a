// Reports of benchmark runs: the JSON record, a markdown table and a bar chart (SVG, PNG via
// sharp) with 95% Wilson whiskers; several runs (methods) compare in one table and one chart.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { AccuracyCell, ScoreSummary } from './score.js';

/** How a run was made. */
export interface EvalSettings {
  readonly greedy: boolean;
  readonly n: number;
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly maxTokens: number;
  readonly seed: number;
}

/** One run of one policy (method) on one benchmark. */
export interface Report extends ScoreSummary {
  /** Benchmark name, e.g. "V* Bench". */
  readonly benchmark: string;
  /** Method or policy label shown in tables and legends. */
  readonly method: string;
  readonly settings: EvalSettings;
  readonly createdAt: string;
  readonly seconds: number;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}`;

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function cellRow(name: string, c: AccuracyCell): string {
  return `| ${name} | ${round(c.questions)} | ${pct(c.accuracy)} | ${pct(c.ci95.lo)}–${pct(c.ci95.hi)} | ${round(c.correct)} | ${round(c.wrong)} | ${round(c.unanswered)} |`;
}

const TABLE_HEAD =
  '| | questions | accuracy % | 95% CI % | correct | wrong | unanswered |\n|---|---:|---:|---:|---:|---:|---:|';

/** Markdown: settings, accuracy per category and overall, and the cyclic tables when present. */
export function reportMarkdown(report: Report): string {
  const s = report.settings;
  const lines = [
    `# ${report.benchmark}: ${report.method}`,
    '',
    `${s.greedy ? 'Greedy decoding' : `${s.n} samples per question at temperature ${s.temperature} (top-p ${s.topP}, top-k ${s.topK}), ${report.aggregate}`}; at most ${s.maxTokens} tokens; seed ${s.seed}; ${report.seconds.toFixed(1)} s; ${report.createdAt}.`,
    '',
    TABLE_HEAD,
    cellRow('**overall**', report.overall),
    ...Object.entries(report.categories).map(([k, c]) => cellRow(k, c)),
  ];
  if (report.cyclic) {
    const cy = report.cyclic;
    lines.push(
      '',
      `## Option orders (${cy.cycles.length} cycles)`,
      '',
      'Averaged (HR-Bench convention): accuracy within each option order, then the mean over orders.',
      '',
      '| | ' + cy.cycles.map((c) => `${c || '(none)'} %`).join(' | ') + ' | averaged % | 95% CI % |',
      '|---|' + cy.cycles.map(() => '---:').join('|') + '|---:|---:|',
    );
    const keys = ['overall', ...Object.keys(cy.averaged.categories)];
    for (const k of keys) {
      const avg = k === 'overall' ? cy.averaged.overall : cy.averaged.categories[k];
      if (!avg) continue;
      const per = cy.cycles.map((c) => {
        const b = cy.perCycle[c];
        const cell = k === 'overall' ? b?.overall : b?.categories[k];
        return cell ? pct(cell.accuracy) : '–';
      });
      lines.push(
        `| ${k === 'overall' ? '**overall**' : k} | ${per.join(' | ')} | ${pct(avg.accuracy)} | ${pct(avg.ci95.lo)}–${pct(avg.ci95.hi)} |`,
      );
    }
  }
  if (report.strict) {
    lines.push(
      '',
      '## All option orders correct (circular, strict)',
      '',
      TABLE_HEAD,
      cellRow('**overall**', report.strict.overall),
      ...Object.entries(report.strict.categories).map(([k, c]) => cellRow(k, c)),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Markdown table comparing runs: accuracy (and interval) per category, one column per method. */
export function comparisonMarkdown(reports: readonly Report[], title = 'Comparison'): string {
  const keys = categoryKeys(reports);
  const lines = [
    `# ${title}`,
    '',
    `| | ${reports.map((r) => r.method).join(' | ')} |`,
    `|---|${reports.map(() => '---:').join('|')}|`,
  ];
  for (const k of ['overall', ...keys]) {
    const cells = reports.map((r) => {
      const c = k === 'overall' ? r.overall : r.categories[k];
      return c ? `${pct(c.accuracy)} (${pct(c.ci95.lo)}–${pct(c.ci95.hi)}, n=${round(c.questions)})` : '–';
    });
    lines.push(`| ${k === 'overall' ? '**overall**' : k} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

function categoryKeys(reports: readonly Report[]): string[] {
  return [...new Set(reports.flatMap((r) => Object.keys(r.categories)))].sort();
}

// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

interface Series {
  readonly label: string;
  readonly cells: readonly (AccuracyCell | undefined)[];
}

/** Grouped bar chart: groups on x, one bar per series, accuracy 0-100% on y, Wilson whiskers. */
function barChart(title: string, groups: readonly string[], series: readonly Series[]): string {
  const barWidth = series.length === 1 ? 56 : Math.max(14, 40 - 4 * series.length);
  const groupWidth = series.length * barWidth + 36;
  const left = 64;
  const top = 56;
  const plotHeight = 300;
  const legendHeight = series.length > 1 ? 28 : 0;
  const width = Math.max(420, left + groups.length * groupWidth + 24);
  const height = top + legendHeight + plotHeight + 64;
  const y0 = top + legendHeight;
  const y = (v: number): number => y0 + plotHeight * (1 - v);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold" fill="#111">${escapeXml(title)}</text>`,
  ];
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    out.push(
      `<line x1="${left}" y1="${y(v)}" x2="${width - 16}" y2="${y(v)}" stroke="${t === 0 ? '#333' : '#dddddd'}" stroke-width="1"/>`,
      `<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" font-size="12" fill="#333">${t * 10}%</text>`,
    );
  }
  out.push(
    `<text x="18" y="${y0 + plotHeight / 2}" text-anchor="middle" font-size="13" fill="#333" transform="rotate(-90 18 ${y0 + plotHeight / 2})">accuracy (95% Wilson CI)</text>`,
  );
  if (series.length > 1) {
    let x = left;
    series.forEach((s, i) => {
      out.push(
        `<rect x="${x}" y="${top - 4}" width="14" height="14" fill="${COLOURS[i % COLOURS.length]}"/>`,
        `<text x="${x + 20}" y="${top + 8}" font-size="13" fill="#111">${escapeXml(s.label)}</text>`,
      );
      x += 34 + 8 * s.label.length;
    });
  }
  groups.forEach((g, gi) => {
    const gx = left + 18 + gi * groupWidth;
    let n: number | undefined;
    series.forEach((s, si) => {
      const c = s.cells[gi];
      if (!c) return;
      n ??= c.questions;
      const x = gx + si * barWidth;
      const colour = COLOURS[si % COLOURS.length];
      out.push(
        `<rect x="${x + 2}" y="${y(c.accuracy)}" width="${barWidth - 4}" height="${y(0) - y(c.accuracy)}" fill="${colour}"/>`,
      );
      const cx = x + barWidth / 2;
      out.push(
        `<line x1="${cx}" y1="${y(c.ci95.hi)}" x2="${cx}" y2="${y(c.ci95.lo)}" stroke="#111" stroke-width="1.5"/>`,
        `<line x1="${cx - 5}" y1="${y(c.ci95.hi)}" x2="${cx + 5}" y2="${y(c.ci95.hi)}" stroke="#111" stroke-width="1.5"/>`,
        `<line x1="${cx - 5}" y1="${y(c.ci95.lo)}" x2="${cx + 5}" y2="${y(c.ci95.lo)}" stroke="#111" stroke-width="1.5"/>`,
        `<text x="${cx}" y="${y(c.ci95.hi) - 6}" text-anchor="middle" font-size="${series.length > 2 ? 10 : 12}" fill="#111">${pct(c.accuracy)}%</text>`,
      );
    });
    const cx = gx + (series.length * barWidth) / 2;
    out.push(
      `<text x="${cx}" y="${y(0) + 20}" text-anchor="middle" font-size="13" fill="#111">${escapeXml(g)}</text>`,
      `<text x="${cx}" y="${y(0) + 38}" text-anchor="middle" font-size="11" fill="#555">n=${n === undefined ? '–' : round(n)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Bar chart of one run: overall, then each category. */
export function reportSvg(report: Report): string {
  const keys = Object.keys(report.categories);
  return barChart(
    `${report.benchmark}: ${report.method}`,
    ['overall', ...keys],
    [{ label: report.method, cells: [report.overall, ...keys.map((k) => report.categories[k])] }],
  );
}

/** Grouped bar chart of several runs: overall and each category, one bar per method. */
export function comparisonSvg(reports: readonly Report[], title = 'Comparison'): string {
  const keys = categoryKeys(reports);
  return barChart(
    title,
    ['overall', ...keys],
    reports.map((r) => ({ label: r.method, cells: [r.overall, ...keys.map((k) => r.categories[k])] })),
  );
}

/** PNG of an SVG (rendered by sharp/librsvg at `density` dpi; 144 doubles the 72-dpi size). */
export async function svgToPng(svg: string, density = 144): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density }).png().toBuffer();
}

export interface WrittenFiles {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string;
  readonly png: string;
}

async function writeAll(
  outDir: string,
  base: string,
  json: unknown,
  markdown: string,
  svg: string,
): Promise<WrittenFiles> {
  await mkdir(outDir, { recursive: true });
  const files = {
    json: join(outDir, `${base}.json`),
    markdown: join(outDir, `${base}.md`),
    svg: join(outDir, `${base}.svg`),
    png: join(outDir, `${base}.png`),
  };
  await writeFile(files.json, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(files.markdown, markdown);
  await writeFile(files.svg, svg);
  await writeFile(files.png, await svgToPng(svg));
  return files;
}

/** Writes report.json, report.md, report.svg and report.png into `outDir` (created if needed). */
export function writeReport(report: Report, outDir: string): Promise<WrittenFiles> {
  return writeAll(outDir, 'report', report, reportMarkdown(report), reportSvg(report));
}

/** Writes <basename>.json/.md/.svg/.png comparing several runs (default basename "comparison"). */
export function writeComparison(
  reports: readonly Report[],
  outDir: string,
  options: { readonly title?: string; readonly basename?: string } = {},
): Promise<WrittenFiles> {
  const title = options.title ?? 'Comparison';
  const summary = reports.map((r) => ({
    method: r.method,
    benchmark: r.benchmark,
    overall: r.overall,
    categories: r.categories,
    ...(r.cyclic ? { cyclicAveraged: r.cyclic.averaged } : {}),
  }));
  return writeAll(
    outDir,
    options.basename ?? 'comparison',
    { title, runs: summary },
    comparisonMarkdown(reports, title),
    comparisonSvg(reports, title),
  );
}
