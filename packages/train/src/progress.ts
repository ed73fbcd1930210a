// Progress for long work: a cli-progress bar on a terminal, and plain periodic lines when the
// output is a file or CI log (a bar's carriage returns would make those unreadable).
//
// A job of several stages (`vzero demo`) runs them under one StagedProgress: an overall bar with
// the time left across every stage, and below it the current stage's own bar. The progress that
// code inside a stage creates with createProgress (a pre-training's steps, a world's images)
// drives the stage's bar and the overall one, wherever that code lives; in a log, the job prints
// a line when a stage starts and one per tenth of the whole, instead of every bar's own lines.
import { AsyncLocalStorage } from 'node:async_hooks';
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, info?: Record<string, string | number>): void;
  stop(): void;
}

/** Whether progress on `stream` is a redrawn bar (a terminal) rather than plain lines. */
export function progressBars(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env['CI'] !== 'true';
}

/** The stage a StagedProgress is running in this async context (createProgress reports to it). */
const currentStage = new AsyncLocalStorage<{ progress(label: string, total: number): Progress }>();

/** `lines`: plain lines even on a terminal (several tasks at once would fight for one bar's line). */
export function createProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
  lines = false,
): Progress {
  const stage = currentStage.getStore();
  if (stage) return stage.progress(label, total);
  if (!lines && progressBars(stream)) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label.padEnd(18)} [{bar}] {value}/{total} {eta_formatted} {info}`,
        stream,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, info) => bar.update(done, { info: formatInfo(info) }),
      stop: () => bar.stop(),
    };
  }
  let lastPrinted = -1;
  const started = Date.now();
  return {
    update(done, info) {
      const tenth = Math.floor((done / Math.max(total, 1)) * 10);
      if (tenth === lastPrinted && done !== total) return;
      lastPrinted = tenth;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(`${label} ${done}/${total} (${secs}s) ${formatInfo(info)}\n`);
    },
    stop() {},
  };
}

function formatInfo(info: Record<string, string | number> | undefined): string {
  if (!info) return '';
  return Object.entries(info)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}`)
    .join('  ');
}

/** One stage of a StagedProgress. */
export interface StageSpec {
  readonly name: string;
  /** The units its progress counts when all of its work runs (steps, images, questions). */
  readonly units: number;
  /**
   * Estimated seconds per unit: weights the stage in the overall bar and its time left (only the
   * ratios between stages matter; the pace itself is measured as the job goes).
   */
  readonly secondsPerUnit: number;
  /** Which progress inside the stage counts towards its units, by label (default: all of it). */
  readonly counts?: (label: string) => boolean;
}

/**
 * The overall fraction of a job of stages and its time left. Each stage weighs its units times
 * its seconds per unit; a stage that ends with fewer units counted than planned (work reused
 * from an earlier run) gives the rest of its weight up, so reused work neither fills the bar
 * nor makes the pace look faster than it is.
 */
export class OverallProgress {
  private readonly counted: number[];
  private readonly finished: boolean[];
  private removed = 0;
  private readonly planned: number;
  private readonly started: number;

  constructor(
    readonly stages: readonly StageSpec[],
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const s of stages) {
      if (!(Number.isFinite(s.units) && s.units >= 0))
        throw new RangeError(`stage ${s.name}: units must be a number >= 0, got ${s.units}`);
      if (!(Number.isFinite(s.secondsPerUnit) && s.secondsPerUnit > 0))
        throw new RangeError(`stage ${s.name}: secondsPerUnit must be > 0, got ${s.secondsPerUnit}`);
    }
    this.counted = stages.map(() => 0);
    this.finished = stages.map(() => false);
    this.planned = stages.reduce((a, s) => a + s.units * s.secondsPerUnit, 0);
    this.started = now();
  }

  /** Counts `units` more of stage `i` (never past its planned units). */
  add(i: number, units: number): void {
    const s = this.stage(i);
    if (this.finished[i]) return;
    this.counted[i] = Math.min(s.units, (this.counted[i] ?? 0) + Math.max(0, units));
  }

  /** Stage `i` is over: the weight of what it did not count is given up. */
  finish(i: number): void {
    const s = this.stage(i);
    if (this.finished[i]) return;
    this.finished[i] = true;
    this.removed += (s.units - (this.counted[i] ?? 0)) * s.secondsPerUnit;
  }

  /** The done share of the work still planned, 0..1. */
  fraction(): number {
    const total = this.planned - this.removed;
    if (total <= 0) return 1;
    const done = this.stages.reduce((a, s, i) => a + (this.counted[i] ?? 0) * s.secondsPerUnit, 0);
    return Math.min(1, Math.max(0, done / total));
  }

  /** Seconds since the start. */
  elapsedSeconds(): number {
    return (this.now() - this.started) / 1000;
  }

  /** Seconds left at the pace so far (undefined until some work was counted). */
  secondsLeft(): number | undefined {
    const f = this.fraction();
    if (f <= 0) return undefined;
    return (this.elapsedSeconds() * (1 - f)) / f;
  }

  private stage(i: number): StageSpec {
    const s = this.stages[i];
    if (!s) throw new RangeError(`no stage ${i} (${this.stages.length} stages)`);
    return s;
  }
}

/** "42 s" under a minute and a half, else "3.5 min". */
export function formatDuration(seconds: number): string {
  return seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`;
}

export interface StagedProgress {
  /** Runs `fn` as the stage `name` (one of the specs), counting the progress created inside it. */
  stage<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** A line of the job's log (above the bars on a terminal). */
  log(line: string): void;
  stop(): void;
}

export interface StagedProgressOptions {
  /** Where lines go: the job's log. */
  readonly log: (line: string) => void;
  /** The terminal the bars are drawn on, when it is one (default process.stderr). */
  readonly stream?: NodeJS.WriteStream;
  /** A clock in milliseconds (tests). */
  readonly now?: () => number;
}

/**
 * An overall bar over `stages` with the time left, and the current stage's own bar (a
 * terminal), or a line per stage and per tenth of the whole (a log).
 */
export function createStagedProgress(
  label: string,
  stages: readonly StageSpec[],
  options: StagedProgressOptions,
): StagedProgress {
  const stream = options.stream ?? process.stderr;
  const overall = new OverallProgress(stages, options.now);
  const tty = progressBars(stream);
  const timeText = () => {
    const left = overall.secondsLeft();
    return `${formatDuration(overall.elapsedSeconds())} so far${left === undefined ? '' : `, about ${formatDuration(left)} left`}`;
  };
  const stageText = (i: number) => `${i + 1}/${stages.length} ${stages[i]?.name ?? ''}`;

  let multi: cliProgress.MultiBar | undefined;
  let top: cliProgress.SingleBar | undefined;
  let below: cliProgress.SingleBar | undefined;
  if (tty) {
    multi = new cliProgress.MultiBar(
      { stream, hideCursor: true, clearOnComplete: false, gracefulExit: false, autopadding: true },
      cliProgress.Presets.shades_classic,
    );
    top = multi.create(
      1000,
      0,
      { stage: '', time: '' },
      {
        format: `${label} [{bar}] {percentage}% | {stage} | {time}`,
      },
    );
    below = multi.create(1, 0, { what: '', info: '' }, { format: `  {what} [{bar}] {value}/{total} {info}` });
  }
  let current = -1;
  let printedTenth = 0;
  const log = (line: string) => {
    if (!multi) return options.log(line);
    // Above the bars, at once (the buffer is otherwise written at the next redraw).
    multi.log(`${line}\n`);
    multi.update();
  };
  const refresh = (what?: string) => {
    const f = overall.fraction();
    if (top) {
      top.update(Math.round(f * 1000), { stage: stageText(current), time: timeText() });
      return;
    }
    const tenth = Math.floor(f * 10);
    if (tenth > printedTenth && tenth < 10) {
      printedTenth = tenth;
      options.log(`${label} ${tenth * 10}% (${timeText()})${what ? `: ${what}` : ''}`);
    }
  };

  return {
    async stage(name, fn) {
      const i = stages.findIndex((s) => s.name === name);
      if (i < 0) throw new RangeError(`no stage named ${JSON.stringify(name)}`);
      const spec = stages[i] as StageSpec;
      current = i;
      if (top) refresh();
      else {
        const f = overall.fraction();
        options.log(`${stageText(i)}${f > 0 ? ` (${label} ${Math.round(f * 100)}%, ${timeText()})` : ''}`);
      }
      below?.setTotal(1);
      below?.update(0, { what: name, info: '' });
      const context = {
        progress(what: string, total: number): Progress {
          const counts = spec.counts?.(what) ?? true;
          let last = 0;
          below?.setTotal(Math.max(total, 1));
          below?.update(0, { what, info: '' });
          return {
            update(done, info) {
              if (counts) overall.add(i, done - last);
              last = done;
              below?.update(done, { what, info: formatInfo(info) });
              refresh(`${what} ${done}/${total}${info ? ` ${formatInfo(info)}` : ''}`);
            },
            stop() {},
          };
        },
      };
      try {
        return await currentStage.run(context, fn);
      } finally {
        overall.finish(i);
        refresh();
      }
    },
    log,
    stop() {
      multi?.stop();
    },
  };
}
