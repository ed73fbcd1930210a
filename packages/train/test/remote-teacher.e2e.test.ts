// The teacher behind a real `vzero serve` server on loopback gives the same training run as the
// same teacher loaded locally.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startServer } from '@vzero/serve';
import { parseTrainConfig } from '../src/config.js';
import { train } from '../src/trainer.js';
import { makeFixture, tinyConfig } from './fixture.js';

describe('a remote teacher', () => {
  it('trains exactly like the local teacher', async () => {
    const f = await makeFixture({ train: 4 });
    // Plain OPD: the gate's z-score would magnify float noise of a random teacher's tiny deltas.
    const settings = { method: 'opd', steps: 2, views: { cropSize: 16 } };
    const local = await train(parseTrainConfig(tinyConfig(f, join(f.root, 'local'), settings)));
    local.student.model.dispose();

    const server = await startServer({ checkpoint: f.models.teacher, port: 0 });
    try {
      const remote = await train(
        parseTrainConfig(
          tinyConfig(f, join(f.root, 'remote'), { ...settings, models: { teacherUrl: `${server.url}/v1` } }),
        ),
      );
      remote.student.model.dispose();
      expect(remote.records).toHaveLength(2);
      // Same rollouts (same student, same seeds), then teacher scores that agree to float
      // tolerance: log-probs cross the wire and the server batches differently. Later steps
      // drift apart slowly through Adam, so the first step is compared closely.
      const [r, l] = [remote.records[0], local.records[0]];
      expect(r?.rollout).toEqual(l?.rollout);
      expect(r?.loss).toBeCloseTo(l?.loss as number, 3);
      expect(r?.opd?.meanAbsLoss).toBeCloseTo(l?.opd?.meanAbsLoss as number, 3);
      expect(Number.isFinite(remote.records[1]?.loss)).toBe(true);
    } finally {
      await server.close();
      server.policy.model.dispose();
    }
  });

  it('names an unreachable server', async () => {
    const f = await makeFixture({ train: 2 });
    await expect(
      train(
        parseTrainConfig(
          tinyConfig(f, join(f.root, 'x'), { models: { teacherUrl: 'http://127.0.0.1:9/v1' } }),
        ),
      ),
    ).rejects.toThrow(/models\.teacherUrl = "http:\/\/127\.0\.0\.1:9\/v1": cannot reach the server/);
  });
});
