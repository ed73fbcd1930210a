// `vzero inspect` end to end: a tiny real V-Zero run records its batches (with its training
// labels moved away: they are put back only for the report), the report is built from them, and
// Debian's chromium (through playwright-core) loads the file from disk: the elements are there,
// nothing is fetched, no console error, moving between steps, sorting and filtering work, and a
// screenshot is not blank. Without /usr/bin/chromium (`apt-get install -y chromium`; .ci/run
// installs it) the browser test is skipped and says so.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { extractAnswer } from '@vzero/bench';
import { gateConfig } from '@vzero/gate';
import { readLabels } from '@vzero/world';
import { parseTrainConfig } from '../src/config.js';
import { train } from '../src/trainer.js';
import { runInspect } from '../src/commands/inspect.js';
import {
  InspectRecorder,
  listInspectSteps,
  readInspectRecord,
  type InspectRecord,
} from '../src/tracking/inspect-record.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';
import { run } from './cli-run.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);

let f: Fixture;
let out: string;
let html: string;

beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 3 });
  out = join(f.root, 'inspected');
  // Training runs without the labels of its split; the report reads them afterwards.
  const labels = join(f.world, 'train', 'labels.jsonl');
  await rename(labels, `${labels}.away`);
  const result = await train(
    parseTrainConfig(
      tinyConfig(f, out, {
        steps: 4,
        rollout: { n: 4, maxTokens: 8 },
        inspect: { every: 2, prompts: 2, keep: 2 },
      }),
    ),
  );
  result.student.model.dispose();
  await rename(`${labels}.away`, labels);
  html = (await runInspect({ run: out })).html;
}, 120_000);

describe('training records what vzero inspect shows', () => {
  it('records step 1 and every 2nd step, keeps the newest 2, and the numbers are the gate’s', async () => {
    const files = (await readdir(join(out, 'inspect'))).sort();
    expect(files).toEqual(['step-000002.json', 'step-000004.json']); // step 1 was pruned
    const rec: InspectRecord = await readInspectRecord(join(out, 'inspect'), 4);
    expect(rec.step).toBe(4);
    expect(rec.prompts).toHaveLength(2);
    const g = gateConfig('reference');
    for (const p of rec.prompts) {
      expect(p.images.student).toMatch(/^data:image\/png;base64,/);
      expect(p.images.positive).toMatch(/^data:image\/png;base64,/);
      expect(p.images.negative).toMatch(/^data:image\/png;base64,/);
      expect(p.options.length).toBeGreaterThan(1);
      expect(p.rollouts).toHaveLength(4);
      // Group z-scores are standardised within the prompt's group: they sum to about 0.
      const sum = p.rollouts.reduce((s, r) => s + (r.advantage as number), 0);
      expect(Math.abs(sum)).toBeLessThan(1e-3);
      for (const r of p.rollouts) {
        expect(r.tokens.length).toBeGreaterThan(0);
        expect(r.positive).toHaveLength(r.tokens.length);
        expect(r.negative).toHaveLength(r.tokens.length);
        expect(r.tokens.join('').trim()).toBe(r.text.trim());
        // w = clip(1 + alpha * a, wMin, wMax) (rounded to 4 decimals in the record).
        const w = Math.min(g.wMax, Math.max(g.wMin, 1 + g.alpha * (r.advantage as number)));
        expect(r.weight).toBeCloseTo(w, 3);
      }
    }
    // Every group of the step in brief (3 prompts per step), the shown ones matching the full
    // records, and "identical" meaning the same response tokens.
    expect(rec.version).toBe(2);
    expect(rec.batch).toHaveLength(3);
    rec.prompts.forEach((p, i) => {
      const group = rec.batch?.[i];
      expect(group?.id).toBe(p.id);
      expect(group?.texts).toEqual(p.rollouts.map((r) => r.text));
      expect(group?.weights).toEqual(p.rollouts.map((r) => r.weight));
      const pieces = p.rollouts.map((r) => JSON.stringify(r.tokens));
      expect(group?.identical).toBe(pieces.every((t) => t === pieces[0]));
    });
    for (const group of rec.batch ?? []) expect(group.texts).toHaveLength(4);
  });

  it('records nothing of the answers: no field of a record names one', async () => {
    const keys = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
    };
    for (const name of await readdir(join(out, 'inspect')))
      walk(JSON.parse(await readFile(join(out, 'inspect', name), 'utf8')));
    // Exactly the record's fields; an answer, label or correctness field would be a new key.
    expect([...keys].sort()).toEqual(
      [
        ...['format', 'version', 'step', 'method', 'prompts', 'batch'],
        ...['id', 'category', 'question', 'options', 'negativeMode', 'images', 'rollouts'],
        ...['student', 'positive', 'negative'],
        ...['index', 'text', 'finishReason', 'tokens', 'gateMask', 'score', 'advantage', 'weight'],
        ...['identical', 'texts', 'weights'],
      ].sort(),
    );
  });

  it('the report says, per shown response, what the labels say of the option it reads', async () => {
    const text = await readFile(html, 'utf8');
    const labels = await readLabels(f.world, 'train');
    const expected: string[] = [];
    for (const step of [2, 4]) {
      const rec = await readInspectRecord(join(out, 'inspect'), step);
      for (const p of rec.prompts)
        for (const r of p.rollouts) {
          const read = extractAnswer(r.text, p.options);
          const right = read !== undefined && read.index === labels.get(p.id)?.answerIndex;
          expected.push(`${right ? 'right' : 'wrong'} ${right ? '✓' : '✗'} ${read?.letter ?? 'no answer'}`);
        }
    }
    const cells = [...text.matchAll(/<td class="verdict (\w+)"[^>]*>([^<]*)<\/td>/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(cells).toEqual(expected);
    expect(text).toContain(`the labels in ${join(f.world, 'train', 'labels.jsonl')}, read by this report`);
    // Each step's table row and the run's: every group of the step counted.
    expect(text).toMatch(
      /<tr data-target="step-2" data-step="2"><td><a href="#step-2">2<\/a><\/td><td>\d \/ 3<\/td>/,
    );
    expect(text).toMatch(/<tr class="overall"><td>all 2 recorded<\/td><td>\d \/ 6<\/td>/);
  });

  it('a resumed run drops the records past its checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-inspect-trunc-'));
    const recorder = new InspectRecorder(dir, { every: 1, prompts: 1, keep: 5 });
    await mkdir(recorder.dir, { recursive: true });
    for (const s of [1, 2, 3]) await writeFile(join(recorder.dir, `step-00000${s}.json`), '{}');
    await recorder.truncate(2);
    expect(await listInspectSteps(recorder.dir)).toEqual([1, 2]);
    expect(() => new InspectRecorder(dir, { every: 1, prompts: 0, keep: 5 })).toThrow(
      'inspect.prompts = 0: must be an integer >= 1',
    );
  });

  it('is small on disk: each recorded step of 2 prompts x G 4 stays under 40 kB', async () => {
    for (const name of await readdir(join(out, 'inspect'))) {
      const { size } = await stat(join(out, 'inspect', name));
      expect(size).toBeLessThan(40_000);
    }
  });

  it('the report is one self-contained file that names nothing to fetch', async () => {
    const text = await readFile(html, 'utf8');
    expect(text).toContain("default-src 'none'");
    expect(text).not.toMatch(/(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(text).not.toMatch(/@import|url\(\s*["']?https?:/i);
  });

  it('names a step that was not recorded, and a run without records', async () => {
    let r = await run(['inspect', out, '--step', '3']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--step = 3: was not recorded; recorded steps: 2, 4');
    const empty = await mkdtemp(join(tmpdir(), 'vzero-empty-run-'));
    r = await run(['inspect', empty]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/has no recorded steps in inspect\//);
    r = await run(['inspect', out, '--step', '2', '--out', join(f.root, 'report-2')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(join(f.root, 'report-2', 'index.html'));
    // One page with every recorded step, opening at step 2.
    const page = await readFile(join(f.root, 'report-2', 'index.html'), 'utf8');
    expect(page).toContain('<section class="step opening" id="step-2"');
    expect(page).toContain('<section class="step" id="step-4"');
  });
});

/** A headless chromium with a fresh profile and no network of its own. */
async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'vzero-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe('the report in a real browser', () => {
  it.skipIf(!haveChromium)(
    `loads from disk in chromium with its elements, no request and no console error; sorts, filters, and renders a non-blank page${haveChromium ? '' : ` (SKIPPED: ${CHROMIUM} not found; apt-get install -y chromium)`}`,
    async () => {
      const context = await launchChromium();
      try {
        const page = await context.newPage();
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('request', (r) => {
          if (!r.url().startsWith('data:') && !r.url().startsWith('file:')) requests.push(r.url());
        });
        await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });

        const rec = await readInspectRecord(join(out, 'inspect'), 4);
        // Both recorded steps are on the page; the newest is the one on show.
        expect(await page.locator('section.step').count()).toBe(2);
        expect(await page.locator('section.step:visible').getAttribute('id')).toBe('step-4');
        expect(await page.locator('#step-select').inputValue()).toBe('step-4');
        const shown = page.locator('section.step:visible');
        expect(await shown.locator('section.prompt').count()).toBe(2);
        expect(await shown.locator('tr.rollout').count()).toBe(8);
        expect(await page.locator('tr.rollout').count()).toBe(16);
        const tokens = rec.prompts.flatMap((p) => p.rollouts).reduce((n, r) => n + r.tokens.length, 0);
        expect(await shown.locator('span.tok').count()).toBe(tokens);
        for (const cls of ['view-student', 'view-positive', 'view-negative']) {
          const widths = await shown
            .locator(`img.${cls}`)
            .evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
          expect(widths).toHaveLength(2);
          for (const w of widths) expect(w).toBeGreaterThan(0); // decoded, not a broken image
        }
        expect(await page.locator('#legend .bar').count()).toBe(1);
        expect(await page.locator('#diagnostics svg g.panel').count()).toBeGreaterThanOrEqual(3);
        expect(
          await page.locator('#run svg g.panel, #run svg text.constant-note').count(),
        ).toBeGreaterThanOrEqual(1);
        expect(await shown.locator('td.verdict').count()).toBe(8);
        await expect
          .poll(() => shown.locator('section.prompt').first().locator('.question li').count())
          .toBe(rec.prompts[0]?.options.length);

        // Moving between steps: the previous-step link, the selector, the arrow keys, the table.
        const visibleStep = () => page.locator('section.step:visible').getAttribute('id');
        await shown.locator('a.prev').click();
        expect(await visibleStep()).toBe('step-2');
        expect(await page.locator('section.step:visible').count()).toBe(1);
        expect(await page.locator('#step-select').inputValue()).toBe('step-2');
        expect(await page.locator('#shown').textContent()).toBe('8');
        expect(await page.locator('#step-table tr.current').getAttribute('data-target')).toBe('step-2');
        await page.locator('#step-select').selectOption('step-4');
        await expect.poll(visibleStep).toBe('step-4');
        await page.locator('h1').click(); // the keys act on the page, not on the focused selector
        await page.keyboard.press('ArrowLeft');
        await expect.poll(visibleStep).toBe('step-2');
        await page.keyboard.press('ArrowRight');
        await expect.poll(visibleStep).toBe('step-4');
        await page.locator('#step-table a[href="#step-2"]').click();
        await expect.poll(visibleStep).toBe('step-2');
        expect(new URL(page.url()).hash).toBe('#step-2');
        await page.locator('#step-select').selectOption('step-4');
        await expect.poll(visibleStep).toBe('step-4');

        // Sorting by weight: the first table's rows in descending weight.
        const table = shown.locator('table.rollouts').first();
        await table.locator('th[data-sort="weight"]').click();
        const weights = await table
          .locator('tr.rollout')
          .evaluateAll((rows) =>
            rows.map((r) => Number((r as unknown as { dataset: Record<string, string> }).dataset['weight'])),
          );
        expect(weights).toEqual([...weights].sort((a, b) => b - a));
        // Filtering: only rollouts with weight >= the median stay visible.
        const all = rec.prompts.flatMap((p) => p.rollouts.map((r) => r.weight)).sort((a, b) => a - b);
        const median = all[Math.floor(all.length / 2)] as number;
        await page.locator('#min-weight').fill(String(median));
        const visible = await shown.locator('tr.rollout:not(.hidden)').count();
        expect(visible).toBe(all.filter((w) => w >= median).length);
        expect(await page.locator('#shown').textContent()).toBe(String(visible));
        await page.locator('#min-weight').fill('');

        const shot = await page.screenshot({
          fullPage: true,
          path: join(out, 'inspect-report', 'screenshot.png'),
        });
        const stats = await sharp(shot).stats();
        const meta = await sharp(shot).metadata();
        expect(meta.width).toBeGreaterThan(600);
        expect(meta.height).toBeGreaterThan(800);
        // Not blank: text, images, coloured tokens and charts make every channel vary.
        for (const c of stats.channels.slice(0, 3)) expect(c.stdev).toBeGreaterThan(15);
        // Coloured tokens: some pixels are neither grey nor white.
        const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        let coloured = 0;
        for (let i = 0; i < data.length; i += info.channels) {
          const [r, g, b] = [data[i] as number, data[i + 1] as number, data[i + 2] as number];
          if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
        }
        expect(coloured).toBeGreaterThan(500);
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
      } finally {
        await context.close();
      }
    },
    90_000,
  );
});

/** Script a hostile run folder tries to run; each payload counts itself in window.__pwned. */
const RUN = 'window.__pwned=(window.__pwned||0)+1';
const PAYLOADS = [
  `"><script>${RUN}</script>`,
  `'><img src=x onerror="${RUN}">`,
  `</title><svg onload="${RUN}">`,
  `<style>body{display:none}</style><iframe srcdoc="<script>parent.${RUN}</script>">`,
  `javascript:${RUN}`,
];

/** A copy of the real run's record with every free-text field replaced by a payload. */
async function hostileRun(mutate?: (rec: Record<string, unknown>) => void): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'vzero-hostile-')), `run"><img src=x onerror="${RUN}">`);
  await mkdir(join(dir, 'inspect'), { recursive: true });
  const rec = JSON.parse(await readFile(join(out, 'inspect', 'step-000004.json'), 'utf8')) as {
    method: string;
    prompts: {
      id: string;
      category: string;
      question: string;
      options: string[];
      negativeMode: string | null;
      rollouts: { text: string; tokens: string[]; finishReason: string }[];
    }[];
  };
  let k = 0;
  const next = () => PAYLOADS[k++ % PAYLOADS.length] as string;
  rec.method = next();
  for (const p of rec.prompts) {
    p.id = next();
    p.category = next();
    p.question = next();
    p.options = p.options.map(() => next());
    p.negativeMode = next();
    for (const r of p.rollouts) {
      r.tokens = r.tokens.map(() => next());
      r.text = r.tokens.join('');
      r.finishReason = next();
    }
  }
  for (const g of (rec as unknown as { batch: { id: string; texts: string[] }[] }).batch) {
    g.id = next();
    g.texts = g.texts.map(() => next());
  }
  mutate?.(rec as unknown as Record<string, unknown>);
  await writeFile(join(dir, 'inspect', 'step-000004.json'), JSON.stringify(rec));
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      method: 'vzero',
      seed: next(),
      gate: { preset: next(), span: next() },
      views: { negative: next() },
    }),
  );
  await writeFile(
    join(dir, 'metrics.jsonl'),
    JSON.stringify({ step: 4, loss: 1, gate: { weightStd: next() } }) + '\n',
  );
  return dir;
}

describe('a hostile run folder', () => {
  it('values that are not what the record says (a script in an image URL, a string for a number) are refused, named', async () => {
    const image = await hostileRun((rec) => {
      const p = (rec['prompts'] as { images: Record<string, string> }[])[0] as {
        images: Record<string, string>;
      };
      p.images['student'] = `data:image/png;base64,AAAA" onerror="${RUN}`;
    });
    let r = await run(['inspect', image]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /prompts\.0\.images\.student = .*expected a base64 PNG, JPEG, GIF or WebP data URL/,
    );
    const svg = await hostileRun((rec) => {
      const p = (rec['prompts'] as { images: Record<string, string> }[])[0] as {
        images: Record<string, string>;
      };
      p.images['positive'] =
        `data:image/svg+xml;base64,${Buffer.from(`<svg onload="${RUN}"/>`).toString('base64')}`;
    });
    r = await run(['inspect', svg]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/images\.positive/);
    const weight = await hostileRun((rec) => {
      const p = (rec['prompts'] as { rollouts: Record<string, unknown>[] }[])[0] as {
        rollouts: Record<string, unknown>[];
      };
      (p.rollouts[0] as Record<string, unknown>)['weight'] = `1" onmouseover="${RUN}`;
    });
    r = await run(['inspect', weight]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/prompts\.0\.rollouts\.0\.weight/);
  });

  it('the report escapes every value and its policy admits no inline script', async () => {
    const dir = await hostileRun();
    const { html: page } = await runInspect({ run: dir, out: join(dir, '..', 'report') });
    const text = await readFile(page, 'utf8');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(text)?.[1] ?? '';
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    // No element carries an event handler or a style attribute, and only the page's own script.
    // (Attribute values emptied first: the escaped payloads inside them are text.)
    const tags = (text.match(/<[a-z][^>]*>/gi) ?? []).map((t) => t.replace(/"[^"]*"/g, '""'));
    expect(tags.filter((t) => /\son[a-z]+\s*=/i.test(t))).toEqual([]);
    expect(tags.filter((t) => /\sstyle\s*=/i.test(t))).toEqual([]);
    expect(text.match(/<script\b/g)).toHaveLength(1);
    expect(text.match(/<iframe\b/g)).toBeNull();
  });

  it.skipIf(!haveChromium)(
    `nothing from it runs in chromium, while the page's own script does${haveChromium ? '' : ` (SKIPPED: ${CHROMIUM} not found; apt-get install -y chromium)`}`,
    async () => {
      const dir = await hostileRun();
      const { html: page } = await runInspect({ run: dir, out: join(dir, '..', 'report-browser') });
      // And the policy alone: the same page with a script put in by hand does not run it.
      const injected = join(dir, '..', 'injected.html');
      await writeFile(
        injected,
        (await readFile(page, 'utf8')).replace(
          '<body>',
          `<body><script>${RUN}</script><img src="data:," onerror="${RUN}"><a id="js" href="javascript:${RUN}">x</a>`,
        ),
      );
      const context = await launchChromium();
      try {
        for (const file of [page, injected]) {
          const tab = await context.newPage();
          const dialogs: string[] = [];
          tab.on('dialog', (d) => {
            dialogs.push(d.message());
            void d.dismiss();
          });
          await tab.goto(pathToFileURL(file).href, { waitUntil: 'load' });
          // Hover and click what a reader would: tokens, headers, images, the link.
          await tab.locator('span.tok').first().hover();
          await tab.locator('th[data-sort="weight"]').first().click();
          if (file === injected) await tab.locator('#js').click();
          await tab.waitForTimeout(300);
          const pwned = await tab.evaluate(
            () => (globalThis as unknown as { __pwned?: number }).__pwned ?? 0,
          );
          expect(pwned, file).toBe(0);
          expect(dialogs).toEqual([]);
          // The page's own script ran (it fills in the count of rollouts shown) and sorts.
          expect(await tab.locator('#shown').textContent()).toBe('8');
          expect(await tab.locator('th.sorted-desc').count()).toBe(1);
          // The payloads are on the page as text.
          expect(await tab.locator('section.prompt h3').first().textContent()).toContain('<');
          await tab.close();
        }
      } finally {
        await context.close();
      }
    },
    90_000,
  );
});
