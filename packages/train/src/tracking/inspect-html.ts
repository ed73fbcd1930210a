// The `vzero inspect` report: one self-contained HTML file (images as data URLs, styles and a
// small script inline, no network: a Content-Security-Policy forbids any fetch), readable from
// disk. A run folder is not trusted: every value from it is escaped for where it goes (text,
// quoted attribute; numbers printed as numbers), images must be base64 image data URLs
// (inspect-record.ts checks the record), no element has a style or event attribute, and the
// policy admits only the page's own style and script by their SHA-256, so nothing a run folder
// holds can run script in the reader's browser.
// One page holds every recorded step, one shown at a time: each step is a section with an
// anchor (#step-N), reached from a step selector, the per-step table, or the previous/next links
// (and the arrow keys); without script the links and anchors still work (CSS :target). Over the
// run: per recorded step the share of groups whose G responses are all identical and the mean
// gate weight of right vs wrong responses (inspect-stats.ts; correctness from the labels, read
// by the report only), and the gate's diagnostics and evaluation accuracy from metrics.jsonl.
// Per step and prompt: the student's image, the teacher's positive and negative views, question
// and options, and its G rollouts with whether each is right and every token coloured by
// delta = l+ - l- on a diverging scale (legend with the scale), the sequence score, group
// z-score and weight, sortable and filterable by weight.
import { createHash } from 'node:crypto';
import { optionLetter } from '@vzero/core';
import { curvesSvg, escapeXml, formatNumber, niceTicks, type CurvePanel } from './curves.js';
import { evalSeries, stepSeries, type MetricsRecord } from './metrics.js';
import type { InspectPrompt, InspectRecord, InspectRollout } from './inspect-record.js';
import {
  judge,
  runStats,
  stepStats,
  type AnswerKey,
  type Judged,
  type NoAnswerKey,
  type RunStats,
  type StepStats,
} from './inspect-stats.js';
import { DELTA_HEADERS, deltaCells, deltaSplit, type DeltaSplit } from './inspect-delta.js';

export interface InspectReportInput {
  readonly run: string;
  /** Every recorded step's record, ascending by step. */
  readonly records: readonly InspectRecord[];
  /** The step shown when the page is opened without an anchor (default: the newest). */
  readonly openStep?: number;
  readonly metrics: readonly MetricsRecord[];
  /** A few config facts for the header (method, gate preset, ...). */
  readonly facts: Readonly<Record<string, string>>;
  /** The labels of the training split (read by the report, never by training), or why none. */
  readonly answers: AnswerKey | NoAnswerKey;
}

const hasKey = (a: AnswerKey | NoAnswerKey): a is AnswerKey => 'entries' in a;

// Diverging colours (Okabe-Ito blue for evidence that raised the teacher's log-prob, vermillion
// for evidence that lowered it), white at 0.
const POS: readonly [number, number, number] = [0x00, 0x72, 0xb2];
const NEG: readonly [number, number, number] = [0xd5, 0x5e, 0x00];

export function deltaColour(delta: number, scale: number): string {
  const t = Math.min(1, Math.abs(delta) / scale);
  const c = delta >= 0 ? POS : NEG;
  const mix = c.map((v) => Math.round(255 + (v - 255) * t));
  return `rgb(${mix.join(',')})`;
}

/** A round upper bound of |delta| over the records' gated tokens (at least 0.1): one scale for every step. */
export function deltaScale(records: readonly InspectRecord[]): number {
  let max = 0;
  for (const p of records.flatMap((rec) => rec.prompts))
    for (const r of p.rollouts)
      r.tokens.forEach((_, k) => {
        if (r.negative && r.gateMask[k] === 1)
          max = Math.max(max, Math.abs((r.positive[k] as number) - (r.negative[k] as number)));
      });
  if (max <= 0.1) return 0.1;
  const ticks = niceTicks(0, max, 4);
  const last = ticks.at(-1) as number;
  return last >= max ? last : last + (ticks[1] as number);
}

const fmt = (x: number | null, digits = 3) =>
  typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';

/** A number for a data-* attribute: finite numbers only (anything else is empty). */
const num = (x: unknown): string => (typeof x === 'number' && Number.isFinite(x) ? String(x) : '');

/** Text for a double-quoted attribute or element content. */
const esc = (x: unknown): string => escapeXml(String(x));

/** The colour steps of delta: a class per step (d-20 ... d20), styled in the page's style sheet. */
const DELTA_STEPS = 20;

function deltaClass(delta: number, scale: number): string {
  const k = Math.round(Math.max(-1, Math.min(1, delta / scale)) * DELTA_STEPS);
  return `d${k < 0 ? `m${-k}` : k}`;
}

function deltaClassRules(scale: number): string {
  const rules: string[] = [];
  for (let k = -DELTA_STEPS; k <= DELTA_STEPS; k++)
    rules.push(`.d${k < 0 ? `m${-k}` : k}{background:${deltaColour((k / DELTA_STEPS) * scale, scale)}}`);
  return rules.join('');
}

/** A base64 image data URL, or undefined (the record reader checks this too). */
const SAFE_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]*={0,2}$/;

function tokenSpans(r: InspectRollout, scale: number): string {
  return r.tokens
    .map((tok, k) => {
      const lp = r.positive[k] as number;
      const ln = r.negative ? (r.negative[k] as number) : null;
      const delta = ln === null ? null : lp - ln;
      const gated = r.gateMask[k] === 1;
      const title =
        delta === null
          ? `l+ ${lp.toFixed(3)} (no negative replay)`
          : `delta ${delta.toFixed(3)} = l+ ${lp.toFixed(3)} - l- ${(ln as number).toFixed(3)}${gated ? '' : ' (not read by the gate)'}`;
      const colour = delta === null || !gated || !Number.isFinite(delta) ? 'd0' : deltaClass(delta, scale);
      return `<span class="tok ${colour}${gated ? '' : ' ungated'}" data-delta="${delta === null || !Number.isFinite(delta) ? '' : delta.toFixed(4)}" title="${esc(title)}">${esc(tok)}</span>`;
    })
    .join('');
}

/** The verdict cell of a rollout: right or wrong and the letters (or a dash without labels). */
function verdictCell(j: Judged | undefined): string {
  if (!j) return '<td class="verdict unknown" title="no label for this sample">–</td>';
  const read = j.letter ?? 'no answer';
  const title = `${j.letter ? `read ${j.letter}` : 'no answer read'}; the label says ${j.answer}`;
  return j.verdict === 'right'
    ? `<td class="verdict right" title="${esc(title)}">✓ ${esc(read)}</td>`
    : `<td class="verdict wrong" title="${esc(title)}">✗ ${esc(read)}</td>`;
}

function promptSection(
  p: InspectPrompt,
  scale: number,
  id: string,
  n: number,
  answers: AnswerKey | undefined,
): string {
  const figure = (cls: string, src: string | null, caption: string) =>
    src && SAFE_IMAGE.test(src)
      ? `<figure><img class="${cls}" src="${esc(src)}" alt="${esc(caption)}"><figcaption>${esc(caption)}</figcaption></figure>`
      : `<figure class="missing"><div class="${cls} none">none</div><figcaption>${esc(caption)}</figcaption></figure>`;
  const entry = answers?.entries.get(p.id);
  const rows = p.rollouts
    .map((r) => {
      const j = entry ? judge(r.text, entry) : undefined;
      const right = j ? (j.verdict === 'right' ? '1' : '0') : '';
      return (
        `<tr class="rollout" data-index="${num(r.index)}" data-right="${right}" data-weight="${num(r.weight)}" data-advantage="${num(r.advantage)}" data-score="${num(r.score)}">` +
        `<td class="num">${esc(num(r.index))}</td>${verdictCell(j)}<td class="num weight">${fmt(r.weight)}</td><td class="num">${fmt(r.advantage)}</td><td class="num">${fmt(r.score, 4)}</td>` +
        `<td class="tokens">${tokenSpans(r, scale)}${r.finishReason === 'length' ? ' <span class="cut" title="hit maxTokens">…</span>' : ''}</td></tr>`
      );
    })
    .join('\n');
  const answer = entry
    ? `<p class="answer">labelled answer: ${esc(optionLetter(entry.answerIndex))}</p>`
    : '';
  return `<section class="prompt" id="${id}" data-prompt-id="${esc(p.id)}">
<h3>${n + 1}. ${esc(p.id)} <small>${esc(p.category)}</small></h3>
<div class="views">
${figure('view-student', p.images.student, 'student: full image')}
${figure('view-positive', p.images.positive, 'teacher: positive crop z+')}
${figure('view-negative', p.images.negative, `teacher: negative view z-${p.negativeMode ? ` (${p.negativeMode})` : ''}`)}
<div class="question"><p>${esc(p.question)}</p><ol type="A">${p.options.map((o) => `<li>${esc(o)}</li>`).join('')}</ol>${answer}</div>
</div>
<table class="rollouts">
<thead><tr><th data-sort="index" class="sortable">#</th><th data-sort="right" class="sortable" title="the option read from the response (as evaluation reads it) against the label">right?</th><th data-sort="weight" class="sortable">weight w</th><th data-sort="advantage" class="sortable">z-score a</th><th data-sort="score" class="sortable">score p</th><th>response, each token coloured by delta = l+ - l-</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

function legendGradient(scale: number): string {
  const stops = [-1, -0.5, 0, 0.5, 1].map((t) => t * scale);
  return stops.map((d, i) => `${deltaColour(d, scale)} ${i * 25}%`).join(', ');
}

function legend(scale: number): string {
  const stops = [-1, -0.5, 0, 0.5, 1].map((t) => t * scale);
  return `<div id="legend"><span class="label">delta = l+ - l- (teacher log-prob with the positive view minus with the negative view)</span>
<div class="bar"></div>
<div class="ticks">${stops.map((d) => `<span>${d > 0 ? '+' : ''}${formatNumber(d)}</span>`).join('')}</div>
<span class="label">vermillion: the evidence lowered the token's log-prob; blue: it raised it; white: no difference or a token the gate did not read (dashed). Colours saturate at ±${formatNumber(scale)}. Hover a token for its numbers.</span></div>`;
}

const STYLE = `
body{font-family:system-ui,"DejaVu Sans",Arial,sans-serif;margin:24px;color:#111;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}h3{font-size:16px;margin-top:24px}h3 small{color:#666;font-weight:normal}
.facts{color:#333}.facts span{margin-right:16px}
nav#steps{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:8px 0;z-index:1;font-size:14px}
nav#steps a{margin-right:6px}
.stepnav{font-size:14px}.stepnav a,.stepnav span.end{margin-right:14px}.stepnav span.end{color:#999}
#run svg,#diagnostics svg{max-width:100%;height:auto;border:1px solid #ddd}
table.stats{border-collapse:collapse;font-size:14px;margin:8px 0}
table.stats th,table.stats td{border-bottom:1px solid #e5e5e5;padding:3px 8px;text-align:right}
table.stats th:first-child,table.stats td:first-child{text-align:left}
table.stats tr.overall td{font-weight:bold;border-top:2px solid #999}
table.stats tr.current td{background:#eef5fb}
.note{color:#555;font-size:13px}
#legend{margin:16px 0;padding:10px;border:1px solid #ddd;background:#fafafa}
#legend .bar{height:14px;width:360px;border:1px solid #999;margin:6px 0 2px}
#legend .ticks{display:flex;justify-content:space-between;width:366px;font-size:12px}
#legend .label{font-size:13px;color:#333;display:block}
#controls{margin:12px 0;font-size:14px}#controls input{width:70px}
section.step{display:none;border-top:3px solid #0072b2;margin-top:12px}
section.step:target,section.step:has(:target){display:block}
body:not(:has(section.step:target,section.step :target)) section.step.opening{display:block}
.views{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
figure{margin:0}figure img,figure .none{width:160px;height:auto;image-rendering:pixelated;border:1px solid #ccc;display:block}
figure .none{height:120px;line-height:120px;text-align:center;color:#999}
figcaption{font-size:12px;color:#333;max-width:160px}
.question{max-width:380px}.question p{font-weight:bold;margin-top:0}.question p.answer{font-weight:normal;color:#333}
table.rollouts{border-collapse:collapse;margin-top:10px;width:100%}
table.rollouts th,table.rollouts td{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:left;vertical-align:top}
th.sortable{cursor:pointer;text-decoration:underline dotted}th.sorted-desc::after{content:" ▼"}th.sorted-asc::after{content:" ▲"}
td.num{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
td.verdict{white-space:nowrap}td.verdict.right{color:#007a55;font-weight:bold}td.verdict.wrong{color:#b34700}td.verdict.unknown{color:#999}
td.tokens{font-family:"DejaVu Sans Mono",monospace;font-size:13px;line-height:1.9}
.tok{padding:1px 0;border-radius:2px}.tok.ungated{outline:1px dashed #aaa}
tr.hidden{display:none}.cut{color:#999}
`;

const SCRIPT = `
(function(){
  function sortTable(table, key, th){
    var body = table.tBodies[0];
    var desc = !th.classList.contains('sorted-desc');
    table.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-desc','sorted-asc');});
    th.classList.add(desc ? 'sorted-desc' : 'sorted-asc');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x = parseFloat(a.dataset[key]), y = parseFloat(b.dataset[key]);
      if (isNaN(x)) x = -Infinity; if (isNaN(y)) y = -Infinity;
      return desc ? y - x : x - y;
    });
    rows.forEach(function(r){body.appendChild(r);});
  }
  document.querySelectorAll('table.rollouts th.sortable').forEach(function(th){
    th.addEventListener('click', function(){ sortTable(th.closest('table'), th.dataset.sort, th); });
  });
  // The step on show: the one the address's anchor is in, else the one the page opens at.
  function current(){
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    var step = el ? el.closest('section.step') : null;
    return step || document.querySelector('section.step.opening');
  }
  var min = document.getElementById('min-weight');
  var max = document.getElementById('max-weight');
  function filter(){
    var lo = parseFloat(min.value), hi = parseFloat(max.value);
    var step = current();
    var shown = 0;
    document.querySelectorAll('tr.rollout').forEach(function(r){
      var w = parseFloat(r.dataset.weight);
      var hide = (!isNaN(lo) && w < lo) || (!isNaN(hi) && w > hi);
      r.classList.toggle('hidden', hide);
      if (!hide && step && step.contains(r)) shown++;
    });
    document.getElementById('shown').textContent = String(shown);
  }
  var select = document.getElementById('step-select');
  function sync(){
    var step = current();
    if (step) select.value = step.id;
    document.querySelectorAll('#step-table tr[data-target]').forEach(function(r){
      r.classList.toggle('current', !!step && r.dataset.target === step.id);
    });
    filter();
  }
  select.addEventListener('change', function(){ location.hash = select.value; });
  window.addEventListener('hashchange', sync);
  document.addEventListener('keydown', function(e){
    if (e.target && e.target.closest && e.target.closest('input,select,textarea')) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var step = current();
    var link = step && step.querySelector(e.key === 'ArrowLeft' ? 'a.prev' : e.key === 'ArrowRight' ? 'a.next' : 'none');
    if (link) { e.preventDefault(); location.hash = link.getAttribute('href').slice(1); }
  });
  min.addEventListener('input', filter); max.addEventListener('input', filter);
  document.getElementById('sort-all').addEventListener('click', function(){
    document.querySelectorAll('table.rollouts').forEach(function(t){
      var th = t.querySelector('th[data-sort="weight"]');
      th.classList.remove('sorted-desc');
      sortTable(t, 'weight', th);
    });
  });
  sync();
})();
`;

/**
 * Over the run, from metrics.jsonl: evaluation accuracy (a line per split, never smoothed) and
 * the gate's diagnostics at every step (weight std, share of delta > 0, mean delta, share at
 * wMin; smoothed as TensorBoard does).
 */
export function diagnosticsPanels(metrics: readonly MetricsRecord[]): CurvePanel[] {
  const evals = evalSeries(metrics);
  const panels: CurvePanel[] = [];
  if (evals.size > 0)
    panels.push({
      title: 'evaluation accuracy',
      percent: true,
      series: [...evals].map(([split, points]) => ({ label: split, points })),
    });
  for (const m of [
    { key: 'gate.weightStd', title: 'gate: weight std' },
    { key: 'gate.fractionDeltaPositive', title: 'gate: share of tokens with delta > 0' },
    { key: 'gate.deltaMean', title: 'gate: mean delta = l+ - l-' },
    { key: 'gate.fractionAtWMin', title: 'gate: share of weights at wMin' },
  ])
    panels.push({
      title: m.title,
      smooth: true,
      series: [{ label: m.title, points: stepSeries(metrics, m.key) }],
    });
  return panels;
}

/** Okabe-Ito bluish green for right responses, vermillion for wrong ones. */
const RIGHT_COLOUR = '#009E73';
const WRONG_COLOUR = '#D55E00';

/**
 * Per recorded step: the share of groups whose G responses are all identical, and the mean gate
 * weight of right and of wrong responses (the latter only with labels).
 */
export function recordedStepPanels(stats: readonly StepStats[], withLabels: boolean): CurvePanel[] {
  const points = (f: (s: StepStats) => number | null) =>
    stats.flatMap((s) => {
      const y = f(s);
      return y === null ? [] : [{ x: s.step, y }];
    });
  const panels: CurvePanel[] = [
    {
      title: 'groups whose G responses are all identical',
      percent: true,
      series: [{ label: 'share of groups', points: points((s) => s.identicalShare) }],
    },
  ];
  if (withLabels)
    panels.push({
      title: 'mean gate weight: right vs wrong responses',
      series: [
        { label: 'right', points: points((s) => s.meanWeightRight), colour: RIGHT_COLOUR },
        { label: 'wrong', points: points((s) => s.meanWeightWrong), colour: WRONG_COLOUR },
      ],
    });
  return panels;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The report's policy: nothing fetched, images only as data URLs, and only this page's own
 * style sheet and script (by hash: no inline event handler, style attribute or injected
 * element runs), no <base>, no form.
 */
export function contentSecurityPolicy(style: string): string {
  return [
    "default-src 'none'",
    'img-src data:',
    `style-src ${sha256(style)}`,
    `script-src ${sha256(SCRIPT)}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The anchor of a recorded step's section. */
export const stepAnchor = (step: number): string => `step-${num(step)}`;

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** Where the run's mean delta comes from: right vs wrong responses, answer vs wording tokens. */
function deltaTable(split: DeltaSplit): string {
  if (split.all.tokens === 0) return '';
  const rows = deltaCells(split)
    .map(
      (cells) =>
        `<tr${cells[0] === 'all' ? ' class="overall"' : ''}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<h3>Where the mean delta comes from</h3>
<table class="stats" id="delta-table">
<thead><tr>${DELTA_HEADERS.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="note">delta = l+ − l− of each scored token of the rollouts shown above. An answer token names one of the options; the rest is wording. Log-probs are at most 0: a right answer the teacher already expects without the evidence gains little, a wrong one the evidence rules out loses a lot, so the mean can be below 0 while right responses still score above wrong ones.</p>`;
}

/** A row of the per-step table (or the run's total). */
function statsRow(s: StepStats | RunStats, label: string, withLabels: boolean, target?: string): string {
  const diff =
    s.meanWeightRight !== null && s.meanWeightWrong !== null ? s.meanWeightRight - s.meanWeightWrong : null;
  const cells = [
    `${s.identicalGroups} / ${s.groups}`,
    pct(s.identicalShare),
    String(s.rollouts),
    withLabels ? `${s.right} / ${s.right + s.wrong}` : '–',
    withLabels ? fmt(s.meanWeightRight) : '–',
    withLabels ? fmt(s.meanWeightWrong) : '–',
    withLabels ? (diff === null ? '–' : `${diff >= 0 ? '+' : ''}${diff.toFixed(3)}`) : '–',
  ];
  const attrs = target
    ? ` data-target="${esc(target)}" data-step="${esc(num((s as StepStats).step))}"`
    : ' class="overall"';
  return `<tr${attrs}><td>${label}</td>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

function stepNav(records: readonly InspectRecord[], i: number): string {
  const prev = records[i - 1];
  const next = records[i + 1];
  return `<p class="stepnav">${
    prev
      ? `<a class="prev" href="#${stepAnchor(prev.step)}">← step ${esc(num(prev.step))}</a>`
      : '<span class="end">← first recorded step</span>'
  }${
    next
      ? `<a class="next" href="#${stepAnchor(next.step)}">step ${esc(num(next.step))} →</a>`
      : '<span class="end">last recorded step →</span>'
  }<a href="#run">over the run</a></p>`;
}

function stepLine(s: StepStats, withLabels: boolean): string {
  const parts = [
    `${s.identicalGroups} of ${s.groups} groups have G identical responses (${pct(s.identicalShare)}: the gate gives each of their responses weight 1)`,
  ];
  if (withLabels)
    parts.push(
      `${s.right} of ${s.right + s.wrong} responses right; mean weight of right ${fmt(s.meanWeightRight)}, of wrong ${fmt(s.meanWeightWrong)}`,
    );
  if (!s.wholeStep) parts.push('over the prompts shown only (a record from before whole-step summaries)');
  return `<p class="steptotals">${esc(parts.join('; '))}.</p>`;
}

export function inspectHtml(input: InspectReportInput): string {
  const { records } = input;
  if (records.length === 0) throw new Error('inspectHtml: no recorded steps');
  const answers = hasKey(input.answers) ? input.answers : undefined;
  const withLabels = answers !== undefined;
  const openStep = input.openStep ?? (records.at(-1) as InspectRecord).step;
  const scale = deltaScale(records);
  const stats = records.map((r) => stepStats(r, answers));
  const total = runStats(stats);
  const diagnostics = diagnosticsPanels(input.metrics);
  const hasDiagnostics = diagnostics.some((p) => p.series.some((s) => s.points.length > 0));
  const facts = Object.entries(input.facts)
    .map(([k, v]) => `<span><b>${esc(k)}</b> ${esc(v)}</span>`)
    .join('');
  const style = `${STYLE}${deltaClassRules(scale)}\n#legend .bar{background:linear-gradient(to right, ${legendGradient(scale)})}\n`;
  const labelsNote = answers
    ? `Right or wrong: the option read from each response (as evaluation reads it) against the labels in ${esc(answers.source)}, read by this report after training; training never reads them. A response with no readable answer counts as wrong.`
    : `No right/wrong column: ${esc((input.answers as NoAnswerKey).reason)}.`;
  const first = records[0] as InspectRecord;
  const steps = records
    .map((rec, i) => {
      const s = stats[i] as StepStats;
      const id = stepAnchor(rec.step);
      const rollouts = rec.prompts.reduce((n, p) => n + p.rollouts.length, 0);
      return `<section class="step${rec.step === openStep ? ' opening' : ''}" id="${id}" data-step="${esc(num(rec.step))}">
<h2>Step ${esc(num(rec.step))}: ${rec.prompts.length} of ${s.groups} prompts shown, ${rollouts} rollouts <small>(${esc(rec.method)})</small></h2>
${stepNav(records, i)}
${stepLine(s, withLabels)}
${rec.prompts.map((p, n) => promptSection(p, scale, `${id}-prompt-${n}`, n, answers)).join('\n')}
</section>`;
    })
    .join('\n');
  const runPanelsSvg = curvesSvg(`recorded steps: ${input.run}`, recordedStepPanels(stats, withLabels));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(style)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vzero inspect: ${esc(input.run)}, ${records.length} recorded steps</title>
<style>${style}</style>
</head>
<body>
<h1>What the gate did: ${esc(input.run)}</h1>
<p class="facts">${facts}<span><b>recorded steps</b> ${records.length} (${esc(num(first.step))} to ${esc(num((records.at(-1) as InspectRecord).step))})</span></p>
<nav id="steps"><label for="step-select">step</label> <select id="step-select">${records
    .map(
      (r) =>
        `<option value="${stepAnchor(r.step)}"${r.step === openStep ? ' selected' : ''}>${esc(num(r.step))}</option>`,
    )
    .join('')}</select> · ${records
    .map((r) => `<a href="#${stepAnchor(r.step)}">${esc(num(r.step))}</a>`)
    .join(
      '',
    )} · <a href="#run">over the run</a> <span class="note">(← → keys: previous, next step)</span></nav>
<section id="run"><h2>Over the run</h2>
<p class="note">${labelsNote}</p>
<table class="stats" id="step-table">
<thead><tr><th>step</th><th>groups all identical</th><th>share</th><th>rollouts</th><th>right</th><th>mean w, right</th><th>mean w, wrong</th><th>right − wrong</th></tr></thead>
<tbody>
${stats.map((s) => statsRow(s, `<a href="#${stepAnchor(s.step)}">${esc(num(s.step))}</a>`, withLabels, stepAnchor(s.step))).join('\n')}
${statsRow(total, `all ${total.steps} recorded`, withLabels)}
</tbody>
</table>
<p class="note">A group is a prompt's G rollouts; when they are all the same tokens the gate cannot tell them apart (equal scores, z-score 0, weight 1 each). ${
    stats.every((s) => s.wholeStep)
      ? "Each step's numbers cover every group of that step"
      : stats.some((s) => s.wholeStep)
        ? "A step's numbers cover every group of that step, or only the prompts it shows where its record is from before whole-step summaries"
        : 'These records are from before whole-step summaries: the numbers cover only the prompts shown'
  }; the last row pools the recorded steps.</p>
${answers ? deltaTable(deltaSplit(records, answers)) : ''}
${runPanelsSvg}
</section>
<section id="diagnostics"><h2>Every step, from metrics.jsonl</h2>
${hasDiagnostics ? curvesSvg(`gate diagnostics: ${input.run}`, diagnostics) : '<p>No gate diagnostics or evaluations in metrics.jsonl.</p>'}
</section>
<section id="batch"><h2>Rollouts of the recorded steps</h2>
${legend(scale)}
<div id="controls">show weights from <input id="min-weight" type="number" step="0.05" placeholder="min"> to <input id="max-weight" type="number" step="0.05" placeholder="max">: <span id="shown">${(records.find((r) => r.step === openStep) ?? first).prompts.reduce((n, p) => n + p.rollouts.length, 0)}</span> rollouts of this step shown. <button id="sort-all" type="button">sort every table by weight</button> (or click a column header)</div>
${steps}
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
