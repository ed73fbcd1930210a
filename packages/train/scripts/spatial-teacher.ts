// The paper-table teacher pre-trained on spatial questions only ("is the red triangle on the left
// or right of the blue circle ?") with the compact pair (docs/results/spatial.md), then evaluated
// on test and test-counter-prior with its crop, with the whole image in the crop slot (what the
// crop adds) and with the paper's negative view there (what V-Zero's l- reads). One world seed per
// call; the world folder and the teacher are reused when present.
//   node --import tsx packages/train/scripts/spatial-teacher.ts --world-seed 11 [--steps 3000]
//     [--train 12000] [--batch 64] [--lr 0.001] [--init-seed 0] [--out runs/spatial]
// Prints one JSON line per split and writes them to <out>/teacher-w<seed>-.../spatial.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadLabelled } from '@vzero/world';
import { ensureWorld } from '../src/ablate/run.js';
import { pretrainRole } from '../src/ablate/pretrain.js';
import { ablatePreset } from '../src/ablate/presets.js';
import { evaluatePolicy } from '../src/evaluation/accuracy.js';
import { loadPolicy } from '../src/models.js';
import { promptsForModel } from '../src/prompts.js';
import { setupTensors } from '../src/tensors.js';

/** The spatial world: the paper-table canvas and objects, spatial questions only, the compact pair. */
export function spatialWorld(): Record<string, unknown> {
  return {
    ...ablatePreset('paper-table').world.config,
    spatialFraction: 1,
    leftPriorStrength: 0.5,
    priorStrength: 0.5,
    pairGapMin: 12,
    pairGapMax: 24,
    pairRiseMax: 16,
  };
}

export interface SpatialTeacherResult {
  readonly worldSeed: number;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly train: number;
  readonly valWithCrop: number;
  readonly pretrainSeconds: number;
  readonly splits: readonly {
    readonly split: string;
    readonly n: number;
    readonly withCrop: number;
    readonly wholeImageInCropSlot: number;
    readonly negativeView: number;
  }[];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      'world-seed': { type: 'string' },
      steps: { type: 'string', default: '3000' },
      train: { type: 'string', default: '12000' },
      batch: { type: 'string', default: '64' },
      lr: { type: 'string', default: '0.001' },
      'init-seed': { type: 'string', default: '0' },
      out: { type: 'string', default: 'runs/spatial' },
    },
  });
  const num = (name: keyof typeof values) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v))
      throw new Error(`--${name} = ${JSON.stringify(values[name])}: expected a number`);
    return v;
  };
  if (values['world-seed'] === undefined) throw new Error('--world-seed is required (a development seed)');
  const [worldSeed, steps, train, batch, lr, initSeed] = (
    ['world-seed', 'steps', 'train', 'batch', 'lr', 'init-seed'] as const
  ).map(num) as [number, number, number, number, number, number];
  await setupTensors(() => undefined);
  const world = spatialWorld();
  const dir = join(values.out as string, `world-${worldSeed}-${train}`);
  await ensureWorld(dir, { train, val: 400, test: 400, 'test-counter-prior': 400 }, worldSeed, world);
  const teacherDir = join(
    values.out as string,
    `teacher-w${worldSeed}-${steps}-${train}-b${batch}-lr${lr}-s${initSeed}`,
  );
  const preset = ablatePreset('paper-table').models.teacher;
  // a teacher made by an earlier call (its accuracy.json is written last) is reused
  const made = join(teacherDir, 'accuracy.json');
  const pre = existsSync(made)
    ? (JSON.parse(readFileSync(made, 'utf8')) as { accuracy: number; seconds: number })
    : await pretrainRole(
        'teacher',
        { ...preset, steps, batchSize: batch, lr },
        dir,
        teacherDir,
        initSeed,
        (l) => {
          if (/^pretrain teacher \d+00\//.test(l)) console.log(l);
        },
      ).then((r) => ({ accuracy: r.val.accuracy, seconds: r.seconds }));
  const loaded = await loadPolicy(teacherDir, 'models.teacher', 'teacher');
  const { promptFor, negativeFor } = promptsForModel(loaded.model.config, 0);
  const width = world['width'] as number;
  const height = world['height'] as number;
  const splits = [];
  for (const split of ['test', 'test-counter-prior'] as const) {
    const samples = await loadLabelled(dir, split);
    const crop = await evaluatePolicy(loaded.policy, samples, promptFor, { maxTokens: 64 });
    // the crop slot shows the whole image: what the crop adds over the full image
    const whole = samples.map((s) => ({ ...s, boxes: [{ x0: 0, y0: 0, x1: width, y1: height }] }));
    const full = await evaluatePolicy(loaded.policy, whole, promptFor, { maxTokens: 64 });
    // the paper's negative view in the crop slot: what V-Zero's l- reads
    const negative = await evaluatePolicy(loaded.policy, samples, negativeFor, { maxTokens: 64 });
    splits.push({
      split,
      n: samples.length,
      withCrop: crop.accuracy,
      wholeImageInCropSlot: full.accuracy,
      negativeView: negative.accuracy,
    });
  }
  loaded.model.dispose();
  const result: SpatialTeacherResult = {
    worldSeed,
    steps,
    batch,
    lr,
    train,
    valWithCrop: pre.accuracy,
    pretrainSeconds: pre.seconds,
    splits,
  };
  writeFileSync(join(teacherDir, 'spatial.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result));
}
