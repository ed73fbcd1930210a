// Progress for long work: a cli-progress bar on a terminal, and plain periodic lines when the
// output is a file or CI log (a bar's carriage returns would make those unreadable).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, info?: Record<string, string | number>): void;
  stop(): void;
}

/** Whether progress on `stream` is a redrawn bar (a terminal) rather than plain lines. */
export function progressBars(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env['CI'] !== 'true';
}

/** `lines`: plain lines even on a terminal (several tasks at once would fight for one bar's line). */
export function createProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
  lines = false,
): Progress {
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
