// --resume: find the newest checkpoint that is intact (checksums match, state readable), restore
// it, and cut metrics.jsonl back to its step. A damaged newest checkpoint or latest.json is not
// fatal while an older intact checkpoint exists: the run continues from there and says so.
// When checkpoints exist but none is intact, resume refuses rather than start over silently.
import { VZeroError } from '@vzero/core';
import {
  latestCheckpoint,
  listCheckpoints,
  truncateMetrics,
  verifyCheckpoint,
  type CheckpointRef,
  type RunDir,
} from './run-dir.js';

/** No checkpoint of the run can be trusted; the message lists each one and why. */
export class NoIntactCheckpointError extends VZeroError {
  constructor(dir: string, problems: readonly string[]) {
    super(
      'NO_INTACT_CHECKPOINT',
      `${dir}: no intact checkpoint to resume from (${problems.join('; ')}); ` +
        'resume cannot continue this run. Start a new --out, or move the checkpoints folder away to start this one over',
    );
  }
}

/**
 * Restores the run from its newest intact checkpoint with `restore(folder)` and truncates the
 * metrics to that step; returns the step (0 when the run has no checkpoint yet).
 */
export async function resumeRun(
  run: RunDir,
  restore: (folder: string) => Promise<void>,
  log: (line: string) => void,
): Promise<number> {
  const latest = await latestCheckpoint(run);
  if (latest?.note) log(`resume: ${latest.note}; looking at the checkpoint folders instead`);
  const candidates: CheckpointRef[] = await listCheckpoints(run);
  // latest.json, when usable, names the first candidate; the rest newest first.
  if (latest && !latest.note) {
    candidates.sort((a, b) => (a.step === latest.step ? -1 : b.step === latest.step ? 1 : b.step - a.step));
  }
  const problems: string[] = [];
  let start = 0;
  let found: CheckpointRef | undefined;
  for (const c of candidates) {
    const check = await verifyCheckpoint(c);
    let problem = check.problem;
    if (!problem) {
      try {
        await restore(c.folder);
      } catch (error) {
        // A checksum-less (older) checkpoint can still fail to load; try the next one.
        if (!(error instanceof VZeroError) && !(error instanceof SyntaxError)) throw error;
        problem = error.message;
      }
    }
    if (problem) {
      problems.push(`${c.folder}: ${problem}`);
      log(`resume: skipping ${c.folder}: ${problem}`);
      continue;
    }
    if (check.legacy) log(`resume: ${c.folder} has no checksums (written before they existed); not verified`);
    found = c;
    start = c.step;
    break;
  }
  if (!found && candidates.length > 0) throw new NoIntactCheckpointError(run.checkpointsDir, problems);
  const dropped = await truncateMetrics(run, start);
  if (found) log(`resumed from ${found.folder} (step ${start})`);
  else log('resume: the run has no checkpoint yet; starting again from step 0');
  if (dropped.broken > 0)
    log(`resume: dropped ${dropped.broken} partial line(s) of ${run.metricsPath} (a write cut short)`);
  if (dropped.after > 0)
    log(`resume: dropped ${dropped.after} metric record(s) after step ${start}; they are computed again`);
  return start;
}
