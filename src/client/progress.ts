import cliProgress from 'cli-progress';

export interface Progress {
  /** Adds transferred bytes. */
  add(bytes: number): void;
  /** Prints a message above the bar (or as its own line). */
  log(message: string): void;
  stop(): void;
}

function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function fmtEta(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/**
 * Progress on stderr. On a terminal: a cli-progress bar with bytes, percentage, speed and time
 * left. Otherwise one plain line every few seconds (cli-progress' no-TTY mode), so logs of
 * unattended runs show progress without control characters. `quiet`: nothing.
 */
export function progress(label: string, total: number, opts: { quiet?: boolean; initial?: number }): Progress {
  const stream = process.stderr;
  if (opts.quiet) return { add() {}, log: (m) => stream.write(m + '\n'), stop() {} };
  const tty = stream.isTTY === true;
  const started = Date.now();
  const initial = opts.initial ?? 0;
  let done = initial;
  const payload = () => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const speed = (done - initial) / secs;
    return {
      label,
      bytes: fmtBytes(done),
      totalBytes: fmtBytes(total),
      speed: `${fmtBytes(speed)}/s`,
      left: speed > 0 ? fmtEta((total - done) / speed) : '--:--',
    };
  };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: tty
        ? '{label} [{bar}] {percentage}% | {bytes}/{totalBytes} | {speed} | ETA {left}'
        : '{label}: {percentage}% {bytes}/{totalBytes} {speed} ETA {left}',
      noTTYOutput: !tty,
      notTTYSchedule: 5000,
      fps: 5,
      hideCursor: tty,
      clearOnComplete: false,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), Math.min(done, Math.max(total, 1)), payload());
  return {
    add(bytes) {
      done += bytes;
      bar.update(Math.min(done, Math.max(total, 1)), payload());
    },
    log(message) {
      if (tty) stream.write('\r\x1b[K');
      stream.write(message + '\n');
      if (tty) bar.render();
    },
    stop() {
      bar.update(Math.min(done, Math.max(total, 1)), payload());
      bar.stop();
    },
  };
}
