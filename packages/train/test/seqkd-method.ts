// A training method added in one file, through the method registry's public API: sequence-level
// distillation (SeqKD). Each step the frozen teacher answers every question under the positive
// view (greedy by default), and the student learns that answer by teacher forcing from the full
// image alone. It is label-free (manifests only), needs a teacher, and has a config section of
// its own (`seqkd`). Importing this file registers it; after that `method: seqkd` trains with it
// in `vzero train`, train() and `vzero ablate` (test/method-plugin.e2e.test.ts). It is a plug-in:
//   pnpm vzero train --plugin packages/train/test/seqkd-method.ts --config FILE --set method=seqkd
// (and `vzero ablate --plugin`, or an ablation spec's `plugins:`; test/plugin-cli.e2e.test.ts).
// Run as a script, it is the `vzero` command with this method in it:
//   pnpm exec tsx packages/train/test/seqkd-method.ts train --config FILE --set method=seqkd
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { deriveSeed, type Policy } from '@vzero/core';
import { rolloutStats, sample } from '@vzero/rollout';
import { defineMethod, registerMethod, runCli, throughput } from '../src/index.js';

export const seqkdMethod = defineMethod({
  name: 'seqkd',
  description: "sequence-level distillation: the student learns the teacher's own answer under the crop",
  data: 'label-free',
  teacher: { views: ['positive'] },
  config: {
    key: 'seqkd',
    schema: z.strictObject({
      /** The teacher's sampling temperature (0: greedy). */
      temperature: z.number().min(0).default(0),
      /** Longest teacher answer, in tokens. */
      maxTokens: z.number().int().min(1).max(64).default(12),
    }),
  },
  warnings: (config) =>
    config.models.selfTeacher !== 'off'
      ? ['models.selfTeacher with method seqkd: the student learns its own answers to the crop']
      : [],
  async step(ctx, step, samples, settings) {
    const { student, optimizer } = ctx;
    const time: Record<string, number> = {};
    let t = performance.now();
    const built = await Promise.all(samples.map((s) => ctx.prompts.forSample(s)));
    time['views'] = performance.now() - t;

    t = performance.now();
    const groups = await sample(
      ctx.teacher as Policy,
      built.map((b) => b.teacher.positive),
      {
        n: 1,
        temperature: settings.temperature,
        topP: 1,
        topK: 0,
        maxTokens: settings.maxTokens,
        seed: deriveSeed(ctx.config.seed, `seqkd:${step}`),
      },
    );
    time['teacher'] = performance.now() - t;

    t = performance.now();
    const answers = groups.map((g) => {
      const tr = g[0];
      if (!tr) throw new Error('the teacher returned no answer');
      return tr.tokenIds.filter((_, k) => tr.mask[k] === 1);
    });
    const batch = student.policy.batch(
      built.map((b) => b.student),
      answers,
    );
    const { loss, gradNorm } = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => student.model.supervisedLoss(batch),
        student.model.trainableVariables,
      );
      return { loss: value.dataSync()[0] as number, gradNorm: optimizer.apply(grads) };
    });
    time['update'] = performance.now() - t;
    time['total'] = Object.values(time).reduce((a, b) => a + b, 0);
    const stats = rolloutStats(groups);
    return {
      step,
      method: 'seqkd',
      loss,
      gradNorm,
      rollout: { meanLength: stats.meanLength, stopFraction: stats.fractionStopped, tokens: stats.tokens },
      time,
      tokensPerSecond: throughput(time, stats.tokens),
    };
  },
});

registerMethod(seqkdMethod);

// Run as a script with a command (`... seqkd-method.ts train --config FILE`), it is the vzero CLI.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length > 2) {
  process.exitCode = await runCli(process.argv.slice(2));
}
