import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidInputError, ShapeMismatchError, type Trajectory } from '@vzero/core';
import { padTrajectories, rolloutStats } from '../src/index.js';

function traj(tokenIds: number[], logprobs: number[], finishReason: 'stop' | 'length' = 'stop'): Trajectory {
  return {
    promptId: 'p',
    groupId: 'p@0',
    index: 0,
    tokenIds,
    logprobs: Float32Array.from(logprobs),
    samplingLogprobs: Float32Array.from(logprobs.map((x) => x * 2)),
    mask: new Uint8Array(tokenIds.length).fill(1),
    finishReason,
    text: '',
  };
}

describe('padTrajectories', () => {
  it('lays out rows left-aligned and pads with padId, mask 0 and log-prob 0', () => {
    const a = traj([5, 6, 7], [-0.5, -1, -1.5]);
    const b = traj([9], [-2], 'length');
    const p = padTrajectories([a, b], { padId: 3 });
    expect(p.batch).toBe(2);
    expect(p.length).toBe(3);
    expect(Array.from(p.tokenIds)).toEqual([5, 6, 7, 9, 3, 3]);
    expect(Array.from(p.logprobs)).toEqual([-0.5, -1, -1.5, -2, 0, 0]);
    expect(Array.from(p.samplingLogprobs)).toEqual([-1, -2, -3, -4, 0, 0]);
    expect(Array.from(p.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(Array.from(p.lengths)).toEqual([3, 1]);
  });

  it('pads to a requested length and respects existing zero masks', () => {
    const a = { ...traj([1, 2], [-1, -1]), mask: Uint8Array.from([1, 0]) };
    const p = padTrajectories([a], { length: 4 });
    expect(p.length).toBe(4);
    expect(Array.from(p.tokenIds)).toEqual([1, 2, 0, 0]);
    expect(Array.from(p.mask)).toEqual([1, 0, 0, 0]);
    expect(Array.from(p.lengths)).toEqual([1]);
    expect(() => padTrajectories([a], { length: 1 })).toThrow(InvalidInputError);
    expect(() => padTrajectories([a], { padId: -1 })).toThrow(/options.padId/);
  });

  it('rejects a trajectory whose arrays disagree in length', () => {
    const bad = { ...traj([1, 2], [-1, -1]), logprobs: Float32Array.from([-1]) };
    expect(() => padTrajectories([traj([1], [-1]), bad])).toThrow(ShapeMismatchError);
    expect(() => padTrajectories([traj([1], [-1]), bad])).toThrow(/trajectories\[1\]\.logprobs/);
  });

  it('keeps every real token at its place and sums the mask to the lengths (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 6 }), { maxLength: 5 }),
        (rows) => {
          const ts = rows.map((ids) =>
            traj(
              ids,
              ids.map((x) => -x / 10),
            ),
          );
          const p = padTrajectories(ts);
          expect(p.length).toBe(Math.max(0, ...rows.map((r) => r.length)));
          rows.forEach((ids, b) => {
            ids.forEach((id, k) => {
              expect(p.tokenIds[b * p.length + k]).toBe(id);
              expect(p.logprobs[b * p.length + k]).toBeCloseTo(-id / 10, 6);
            });
            let m = 0;
            for (let k = 0; k < p.length; k++) m += p.mask[b * p.length + k] ?? 0;
            expect(m).toBe(ids.length);
            expect(p.lengths[b]).toBe(ids.length);
          });
        },
      ),
    );
  });
});

describe('rolloutStats', () => {
  it('counts tokens, lengths, stop fraction and mean log-prob by hand', () => {
    const groups = [[traj([1, 2, 3], [-1, -2, -3]), traj([4], [-4], 'length')], [traj([5, 6], [-0.5, -0.5])]];
    const s = rolloutStats(groups);
    expect(s).toEqual({
      prompts: 2,
      trajectories: 3,
      tokens: 6,
      meanLength: 2,
      minLength: 1,
      maxLength: 3,
      fractionStopped: 2 / 3,
      meanLogprob: (-1 - 2 - 3 - 4 - 0.5 - 0.5) / 6,
      identicalGroups: 0, // one group of two different responses; a single rollout is no group
    });
  });

  it('counts the groups whose rollouts are all the same tokens, padding ignored', () => {
    const same = [traj([7, 8], [-1, -1]), traj([7, 8], [-2, -2], 'length'), traj([7, 8], [-1, -1])];
    const differ = [traj([7, 8], [-1, -1]), traj([7, 9], [-1, -1])];
    const prefix = [traj([7], [-1]), traj([7, 8], [-1, -1])];
    // the same real tokens with different padding after them
    const padded = [traj([3], [-1]), { ...traj([3, 0], [-1, 0]), mask: Uint8Array.from([1, 0]) }];
    expect(rolloutStats([same, differ, prefix, padded]).identicalGroups).toBe(2 / 4);
    expect(rolloutStats([[traj([1], [-1])]]).identicalGroups).toBe(0);
  });

  it('is all zeros for no trajectories', () => {
    expect(rolloutStats([])).toMatchObject({ trajectories: 0, tokens: 0, meanLength: 0, minLength: 0 });
  });
});
