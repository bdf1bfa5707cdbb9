/**
 * A one-line terminal progress bar for long CLI runs (a backtest walks thousands of recalibrations).
 * Draws only on a TTY, so piped output, `--json` and CI logs never see carriage returns.
 */
import { forTerminal } from '../domain/text.ts';

export interface Progress {
  /** Report `done` of `total` steps; redraws at most every 100 ms (always on the last step). */
  update(done: number, total: number): void;
  /** Clear the bar; with a message, print it (with the elapsed time) on its own line. */
  done(message?: string): void;
}

export interface ProgressOptions {
  /** Milliseconds clock; injectable for tests. */
  readonly now?: () => number;
  /** Minimum milliseconds between redraws. Default 100 (≈10 per second). */
  readonly intervalMs?: number;
}

const BAR_WIDTH = 24;
// Erase the whole line and return to its start, so a shorter redraw leaves no tail.
const CLEAR_LINE = '\r\x1b[2K';

/**
 * Create a progress bar on `stream` (default stderr, keeping stdout clean for results). A no-op unless
 * `stream.isTTY`.
 *
 * @example
 * const progress = createProgress('backtest BTC');
 * backtest(policy, series, { onProgress: (done, total) => progress.update(done, total) });
 * progress.done();
 * // while running: backtest BTC [█████████░░░░░░░░░░░░░░░]  38%  1052/2769  elapsed 3s  ETA 5s
 */
export function createProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  options: ProgressOptions = {},
): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  const shown = forTerminal(label);
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 100;
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      if (t - lastDraw < intervalMs && done < total) return;
      lastDraw = t;
      drawn = true;
      // A line wider than the terminal wraps, and \r then only returns to the start of the last row.
      const columns = stream.columns && stream.columns > 1 ? stream.columns - 1 : 120;
      stream.write(CLEAR_LINE + progressLine(shown, done, total, t - started).slice(0, columns));
    },
    done(message) {
      if (drawn) stream.write(CLEAR_LINE);
      drawn = false;
      if (message !== undefined)
        stream.write(`${shown}: ${forTerminal(message)} (${duration(now() - started)})\n`);
    },
  };
}

/** The bar text, without control characters. Exported for tests. */
export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  // ETA from the average pace so far: steady work (a walk-forward backtest) makes it a fair guess.
  const eta = done > 0 && done < total ? `  ETA ${duration((elapsedMs / done) * (total - done))}` : '';
  return `${label} [${bar}] ${percent}  ${done}/${total}  elapsed ${duration(elapsedMs)}${eta}`;
}

/** 4_200 → "4s", 95_000 → "1m35s", 3_725_000 → "1h02m". */
function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
