import { beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { parseTrainConfig } from '../src/config.js';
import { splitEvaluator } from '../src/commands/train.js';
import { readMetrics, runDir } from '../src/run/run-dir.js';
import { train } from '../src/trainer.js';
import {
  crc32c,
  decodeRecords,
  EventFileWriter,
  maskedCrc32c,
  readEventFile,
  type TfEvent,
} from '../src/tracking/tfevents.js';
import { metricsCsv, scalarsOf } from '../src/tracking/metrics.js';
import { eventFiles } from '../src/tracking/tracker.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { formatNumber } from '../src/tracking/curves.js';

describe('TensorBoard event files', () => {
  it('CRC32C matches the standard check value and TensorFlow masks it', () => {
    // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    const crc = 0xe3069283;
    expect(maskedCrc32c(new TextEncoder().encode('123456789'))).toBe(
      ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0,
    );
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // 32 zero bytes (RFC 3720)
  });

  it('writes records that read back with valid CRCs, and a flipped byte is caught', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-tfevents-'));
    const w = EventFileWriter.create(dir, new Date(1_700_000_000_000));
    expect(basename(w.path)).toMatch(/^events\.out\.tfevents\.1700000000\./);
    w.scalars(1, [
      { tag: 'train/loss', value: 0.25 },
      { tag: 'gate/weightStd', value: Number.NaN },
    ]);
    w.scalars(7, [{ tag: 'eval/val/accuracy', value: 0.75 }], 1_700_000_100.5);
    const events = readEventFile(w.path);
    expect(events[0]).toEqual({ wallTime: 1_700_000_000, fileVersion: 'brain.Event:2' });
    expect(events[1]?.step).toBe(1);
    expect(events[1]?.scalars).toEqual([{ tag: 'train/loss', value: 0.25 }]); // NaN left out
    expect(events[2]).toEqual({
      wallTime: 1_700_000_100.5,
      step: 7,
      scalars: [{ tag: 'eval/val/accuracy', value: 0.75 }],
    });
    const bytes = await readFile(w.path);
    expect(decodeRecords(bytes)).toHaveLength(3);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 6] = (flipped[flipped.length - 6] as number) ^ 0xff;
    await writeFile(join(dir, 'bad'), flipped);
    expect(() => readEventFile(join(dir, 'bad'))).toThrow(/data CRC mismatch/);
    await writeFile(join(dir, 'short'), bytes.subarray(0, bytes.length - 2));
    expect(() => readEventFile(join(dir, 'short'))).toThrow(/cut short/);
    expect(() => EventFileWriter.create(dir, new Date(1_700_000_000_000))).toThrow(/exists|already/i);
  });
});

describe('metrics as CSV and scalars', () => {
  it('flattens nested metrics and quotes cells that need it', () => {
    const csv = metricsCsv([
      { step: 1, loss: 0.5, gate: { weightStd: 0.1 }, method: 'vzero', timestamp: 't1' },
      { event: 'eval', step: 1, split: 'val', accuracy: 0.5, n: 4, note: 'a,"b"' },
    ]);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('event,step,timestamp,split,loss,gate.weightStd,method,accuracy,n,note');
    expect(lines[1]).toBe(',1,t1,,0.5,0.1,vzero,,,');
    expect(lines[2]).toBe('eval,1,,val,,,,0.5,4,"a,""b"""');
    expect(
      scalarsOf({
        event: 'eval',
        step: 1,
        split: 'val',
        accuracy: 0.5,
        n: 4,
        categories: { color: { accuracy: 1, n: 2 } },
      }),
    ).toEqual([
      { tag: 'eval/val/accuracy', value: 0.5 },
      { tag: 'eval/val/category/color', value: 1 },
    ]);
  });
});

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4 });
});

const scalarSteps = (events: readonly TfEvent[], tag: string) =>
  events.flatMap((e) =>
    (e.scalars ?? []).filter((s) => s.tag === tag).map((s) => ({ step: e.step, value: s.value })),
  );

describe('a real run tracks itself', () => {
  it('logs lr and timestamps, writes an event file, curves as SVG and PNG, and a CSV', async () => {
    const out = join(f.root, 'tracked');
    const config = parseTrainConfig(tinyConfig(f, out, { eval: { splits: ['val'], limit: 2 } }));
    const tensors = tf.memory().numTensors;
    const started = Date.now();
    const result = await train(config, { hooks: { evaluate: splitEvaluator(config) } });
    result.student.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);

    const metrics = await readMetrics(runDir(out));
    const steps = metrics.filter((m) => m['event'] === undefined);
    expect(steps.map((m) => m['lr'])).toEqual([1e-2, 1e-2, 1e-2]);
    for (const m of metrics) {
      const t = Date.parse(String(m['timestamp']));
      expect(t).toBeGreaterThanOrEqual(started - 1000);
      expect(t).toBeLessThanOrEqual(Date.now());
    }

    const files = await eventFiles(out);
    expect(files).toHaveLength(1);
    const events = readEventFile(files[0] as string);
    expect(events[0]?.fileVersion).toBe('brain.Event:2');
    const losses = scalarSteps(events, 'train/loss');
    expect(losses.map((l) => l.step)).toEqual([1, 2, 3]);
    losses.forEach((l, i) => expect(l.value).toBeCloseTo(steps[i]?.['loss'] as number, 5));
    expect(scalarSteps(events, 'train/lr').map((l) => l.value)).toEqual([1e-2, 1e-2, 1e-2].map(Math.fround));
    expect(scalarSteps(events, 'gate/weightStd')).toHaveLength(3);
    expect(scalarSteps(events, 'eval/val/accuracy').map((l) => l.step)).toEqual([0, 3]);

    const svg = await readFile(join(out, 'curves.svg'), 'utf8');
    const titles = [...svg.matchAll(/data-title="([^"]*)"/g)].map((m) => m[1]);
    // Evaluation accuracy first, in a panel of its own (or, when both evaluations of this tiny
    // random model scored the same, named with its value under the figure); then the step
    // metrics, smoothed.
    const accuracies = metrics.filter((m) => m['event'] === 'eval').map((m) => m['accuracy'] as number);
    expect(accuracies).toHaveLength(2);
    if (accuracies[0] === accuracies[1])
      expect(svg).toMatch(
        new RegExp(
          `constant over the run, so not drawn: [^<]*evaluation accuracy: val ${formatNumber((accuracies[0] as number) * 100)}%`,
        ),
      );
    else expect(titles[0]).toBe('evaluation accuracy: val');
    for (const title of ['loss', 'gradient norm (before clipping)', 'gate: weight std'])
      expect(svg).toContain(`<g class="panel smoothed" data-title="${title}">`);
    expect(svg.match(/<polyline class="smoothed"/g)?.length).toBeGreaterThanOrEqual(3);
    expect(svg).not.toContain('reward (GRPO)'); // a panel without points is left out
    // The learning rate is 1e-2 at every step: no panel, a line names it.
    expect(titles).not.toContain('learning rate');
    expect(svg).toMatch(/constant over the run, so not drawn: [^<]*learning rate 0\.01/);
    const png = await sharp(join(out, 'curves.png')).metadata();
    expect(png.format).toBe('png');
    expect(png.width).toBeGreaterThan(800);
    const stats = await sharp(join(out, 'curves.png')).stats();
    // Not blank: lines and text make the channels vary.
    expect(Math.max(...stats.channels.map((c) => c.stdev))).toBeGreaterThan(10);

    const csv = (await readFile(join(out, 'metrics.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(metrics.length + 1);
    expect(csv[0]).toMatch(/^event,step,timestamp,split,/);
    expect(csv[0]).toContain('gate.weightStd');
  });

  it('a resumed run rebuilds its event file: every step once', async () => {
    const out = join(f.root, 'tracked-resume');
    const base = tinyConfig(f, out, { steps: 2, checkpointEvery: 1 });
    (await train(parseTrainConfig(base))).student.model.dispose();
    const first = await eventFiles(out);
    expect(first).toHaveLength(1);
    const resumed = await train(parseTrainConfig({ ...base, steps: 3 }), { resume: true });
    resumed.student.model.dispose();
    const files = await eventFiles(out);
    expect(files).toHaveLength(1);
    const steps = scalarSteps(readEventFile(files[0] as string), 'train/loss').map((l) => l.step);
    expect(steps).toEqual([1, 2, 3]);
  });
});
