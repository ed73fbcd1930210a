// The `vzero inspect` report: one self-contained HTML file (images as data URLs, styles and a
// small script inline, no network: a Content-Security-Policy forbids any fetch), readable from
// disk. A run folder is not trusted: every value from it is escaped for where it goes (text,
// quoted attribute; numbers printed as numbers), images must be base64 image data URLs
// (inspect-record.ts checks the record), no element has a style or event attribute, and the
// policy admits only the page's own style and script by their SHA-256, so nothing a run folder
// holds can run script in the reader's browser. Per prompt: the student's image, the teacher's positive and negative views, question
// and options, and its G rollouts with every token coloured by delta = l+ - l- on a diverging
// scale (legend with the scale), the sequence score, group z-score and weight, sortable and
// filterable by weight. Above them, the gate's diagnostics over all steps as charts.
import { createHash } from 'node:crypto';
import { curvesSvg, escapeXml, formatNumber, niceTicks, type CurvePanel } from './curves.js';
import { stepSeries, type MetricsRecord } from './metrics.js';
import type { InspectPrompt, InspectRecord, InspectRollout } from './inspect-record.js';

export interface InspectReportInput {
  readonly run: string;
  readonly record: InspectRecord;
  /** Every recorded step (for the header). */
  readonly steps: readonly number[];
  readonly metrics: readonly MetricsRecord[];
  /** A few config facts for the header (method, gate preset, ...). */
  readonly facts: Readonly<Record<string, string>>;
}

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

/** A round upper bound of |delta| over the record's gated tokens (at least 0.1). */
export function deltaScale(record: InspectRecord): number {
  let max = 0;
  for (const p of record.prompts)
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

function promptSection(p: InspectPrompt, scale: number, n: number): string {
  const figure = (cls: string, src: string | null, caption: string) =>
    src && SAFE_IMAGE.test(src)
      ? `<figure><img class="${cls}" src="${esc(src)}" alt="${esc(caption)}"><figcaption>${esc(caption)}</figcaption></figure>`
      : `<figure class="missing"><div class="${cls} none">none</div><figcaption>${esc(caption)}</figcaption></figure>`;
  const rows = p.rollouts
    .map(
      (r) =>
        `<tr class="rollout" data-index="${num(r.index)}" data-weight="${num(r.weight)}" data-advantage="${num(r.advantage)}" data-score="${num(r.score)}">` +
        `<td class="num">${esc(num(r.index))}</td><td class="num weight">${fmt(r.weight)}</td><td class="num">${fmt(r.advantage)}</td><td class="num">${fmt(r.score, 4)}</td>` +
        `<td class="tokens">${tokenSpans(r, scale)}${r.finishReason === 'length' ? ' <span class="cut" title="hit maxTokens">…</span>' : ''}</td></tr>`,
    )
    .join('\n');
  return `<section class="prompt" id="prompt-${n}" data-prompt-id="${esc(p.id)}">
<h2>${n + 1}. ${esc(p.id)} <small>${esc(p.category)}</small></h2>
<div class="views">
${figure('view-student', p.images.student, 'student: full image')}
${figure('view-positive', p.images.positive, 'teacher: positive crop z+')}
${figure('view-negative', p.images.negative, `teacher: negative view z-${p.negativeMode ? ` (${p.negativeMode})` : ''}`)}
<div class="question"><p>${esc(p.question)}</p><ol type="A">${p.options.map((o) => `<li>${esc(o)}</li>`).join('')}</ol></div>
</div>
<table class="rollouts">
<thead><tr><th data-sort="index" class="sortable">#</th><th data-sort="weight" class="sortable">weight w</th><th data-sort="advantage" class="sortable">z-score a</th><th data-sort="score" class="sortable">score p</th><th>response, each token coloured by delta = l+ - l-</th></tr></thead>
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
h1{font-size:22px}h2{font-size:17px;margin-top:28px}h2 small{color:#666;font-weight:normal}
.facts{color:#333}.facts span{margin-right:16px}
#diagnostics svg{max-width:100%;height:auto;border:1px solid #ddd}
#legend{margin:16px 0;padding:10px;border:1px solid #ddd;background:#fafafa}
#legend .bar{height:14px;width:360px;border:1px solid #999;margin:6px 0 2px}
#legend .ticks{display:flex;justify-content:space-between;width:366px;font-size:12px}
#legend .label{font-size:13px;color:#333;display:block}
#controls{margin:12px 0;font-size:14px}#controls input{width:70px}
.views{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
figure{margin:0}figure img,figure .none{width:160px;height:auto;image-rendering:pixelated;border:1px solid #ccc;display:block}
figure .none{height:120px;line-height:120px;text-align:center;color:#999}
figcaption{font-size:12px;color:#333;max-width:160px}
.question{max-width:380px}.question p{font-weight:bold;margin-top:0}
table.rollouts{border-collapse:collapse;margin-top:10px;width:100%}
table.rollouts th,table.rollouts td{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:left;vertical-align:top}
th.sortable{cursor:pointer;text-decoration:underline dotted}th.sorted-desc::after{content:" ▼"}th.sorted-asc::after{content:" ▲"}
td.num{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
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
  var min = document.getElementById('min-weight');
  var max = document.getElementById('max-weight');
  function filter(){
    var lo = parseFloat(min.value), hi = parseFloat(max.value);
    var shown = 0;
    document.querySelectorAll('tr.rollout').forEach(function(r){
      var w = parseFloat(r.dataset.weight);
      var hide = (!isNaN(lo) && w < lo) || (!isNaN(hi) && w > hi);
      r.classList.toggle('hidden', hide);
      if (!hide) shown++;
    });
    document.getElementById('shown').textContent = String(shown);
  }
  min.addEventListener('input', filter); max.addEventListener('input', filter);
  document.getElementById('sort-all').addEventListener('click', function(){
    document.querySelectorAll('table.rollouts').forEach(function(t){
      var th = t.querySelector('th[data-sort="weight"]');
      th.classList.remove('sorted-desc');
      sortTable(t, 'weight', th);
    });
  });
  filter();
})();
`;

/** The gate's diagnostics over steps (weight std, share of delta > 0, mean delta). */
export function diagnosticsPanels(metrics: readonly MetricsRecord[], markStep?: number): CurvePanel[] {
  return [
    { key: 'gate.weightStd', title: 'gate: weight std' },
    { key: 'gate.fractionDeltaPositive', title: 'gate: share of tokens with delta > 0' },
    { key: 'gate.deltaMean', title: 'gate: mean delta = l+ - l-' },
    { key: 'gate.fractionAtWMin', title: 'gate: share of weights at wMin' },
  ].map((m) => ({
    title: m.title,
    series: [{ label: m.title, points: stepSeries(metrics, m.key) }],
    ...(markStep !== undefined ? { markStep } : {}),
  }));
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

export function inspectHtml(input: InspectReportInput): string {
  const { record } = input;
  const scale = deltaScale(record);
  const rollouts = record.prompts.reduce((n, p) => n + p.rollouts.length, 0);
  const panels = diagnosticsPanels(input.metrics, record.step);
  const hasDiagnostics = panels.some((p) => p.series.some((s) => s.points.length > 0));
  const step = esc(num(record.step));
  const facts = Object.entries({ step: num(record.step), ...input.facts })
    .map(([k, v]) => `<span><b>${esc(k)}</b> ${esc(v)}</span>`)
    .join('');
  const style = `${STYLE}${deltaClassRules(scale)}\n#legend .bar{background:linear-gradient(to right, ${legendGradient(scale)})}\n`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(style)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vzero inspect: ${esc(input.run)} step ${step}</title>
<style>${style}</style>
</head>
<body>
<h1>What the gate did: ${esc(input.run)}, step ${step}</h1>
<p class="facts">${facts}<span><b>recorded steps</b> ${esc(input.steps.map(num).join(', '))}</span></p>
<section id="diagnostics"><h2>Gate diagnostics over steps</h2>
<p>Over the whole run, from metrics.jsonl; the dashed line marks step ${step}.</p>
${hasDiagnostics ? curvesSvg(`gate diagnostics: ${input.run}`, panels) : '<p>No gate diagnostics in metrics.jsonl (a method without the gate).</p>'}
</section>
<section id="batch"><h2>Rollouts of step ${step}: ${record.prompts.length} prompts, ${rollouts} rollouts</h2>
${legend(scale)}
<div id="controls">show weights from <input id="min-weight" type="number" step="0.05" placeholder="min"> to <input id="max-weight" type="number" step="0.05" placeholder="max">: <span id="shown">${rollouts}</span> rollouts shown. <button id="sort-all" type="button">sort every table by weight</button> (or click a column header)</div>
${record.prompts.map((p, i) => promptSection(p, scale, i)).join('\n')}
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
