/** Where progress goes: stderr, redrawn in place on a terminal, plain lines otherwise. */
export interface ProgressSink {
  isTTY?: boolean;
  write(s: string): unknown;
}

export interface Progress {
  /** Sets the absolute count done (e.g. the last seq handled minus the first). */
  update(done: number): void;
  /** Raises the total when the work grows (e.g. the stream grew during a catch-up). */
  setTotal(total: number): void;
  finish(note?: string): void;
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A progress reporter with rate and ETA: a bar redrawn at most 10 times a second on a terminal,
 * a plain line every `intervalMs` otherwise (so logs of a CI job stay readable).
 */
export function createProgress(
  label: string,
  total: number,
  o: { sink?: ProgressSink; quiet?: boolean; intervalMs?: number; now?: () => number } = {},
): Progress {
  const sink = o.sink ?? process.stderr;
  const now = o.now ?? (() => performance.now());
  const tty = sink.isTTY === true;
  const interval = o.intervalMs ?? (tty ? 100 : 2000);
  const start = now();
  let last = -Infinity;
  let done = 0;
  let drawn = false;

  function text(): string {
    const secs = (now() - start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = rate > 0 && total > done ? (total - done) / rate : 0;
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
    const counts = `${done.toLocaleString('en')}/${total.toLocaleString('en')}`;
    const tail = `${counts} ${Math.round(rate).toLocaleString('en')} ev/s ETA ${duration(eta)}`;
    if (!tty) return `${label}: ${pct.toFixed(0)}% ${tail}`;
    const width = 24;
    const fill = Math.round((pct / 100) * width);
    return `${label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${pct.toFixed(0).padStart(3)}% ${tail}`;
  }

  function draw(force: boolean) {
    if (o.quiet) return;
    const t = now();
    if (!force && t - last < interval) return;
    last = t;
    if (tty) sink.write(`\r\x1b[2K${text()}`);
    else sink.write(`${text()}\n`);
    drawn = true;
  }

  return {
    update(n) {
      done = n;
      draw(false);
    },
    setTotal(n) {
      total = n;
    },
    finish(note) {
      if (o.quiet) return;
      const secs = (now() - start) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      if (tty && drawn) sink.write('\r\x1b[2K');
      sink.write(
        `${label}: ${done.toLocaleString('en')} in ${secs.toFixed(1)}s (${Math.round(rate).toLocaleString('en')} ev/s)${note ? `; ${note}` : ''}\n`,
      );
    },
  };
}
