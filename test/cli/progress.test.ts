import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from '../../lib/cli/progress.ts';

function fakeStream(isTTY: boolean, columns = 100) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns,
    write(chunk: string) {
      writes.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

function fakeClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

const CLEAR = '\r\x1b[2K';

describe('createProgress on a TTY', () => {
  it('draws percentage, counts, elapsed and ETA on one line redrawn with \\r', () => {
    const { stream, writes } = fakeStream(true);
    const clock = fakeClock();
    const progress = createProgress('backtest BTC', stream, { now: clock.now });
    progress.update(0, 200);
    clock.advance(4_000);
    progress.update(50, 200);
    expect(writes).toHaveLength(2);
    for (const w of writes) {
      expect(w.startsWith(CLEAR)).toBe(true);
      expect(w).not.toContain('\n');
    }
    expect(writes[0]).toContain('backtest BTC [');
    expect(writes[0]).toContain('  0%  0/200');
    expect(writes[1]).toContain(' 25%  50/200  elapsed 4s  ETA 12s');
  });

  it('redraws at most every 100 ms, but always shows the last step', () => {
    const { stream, writes } = fakeStream(true);
    const clock = fakeClock();
    const progress = createProgress('walk', stream, { now: clock.now });
    for (let done = 1; done <= 1000; done++) {
      progress.update(done, 1000);
      clock.advance(1); // 1 s in all: ~10 redraws, not 1000
    }
    expect(writes.length).toBeGreaterThanOrEqual(10);
    expect(writes.length).toBeLessThanOrEqual(12);
    expect(writes.at(-1)).toContain('100%  1000/1000');
    expect(writes.at(-1)).not.toContain('ETA');
  });

  it('done() clears the line, and prints a message with the elapsed time on its own line', () => {
    const { stream, writes } = fakeStream(true);
    const clock = fakeClock();
    const progress = createProgress('backtest BTC', stream, { now: clock.now });
    progress.update(10, 10);
    progress.done();
    expect(writes.at(-1)).toBe(CLEAR);
    clock.advance(95_000);
    progress.done('2769 days scored');
    expect(writes.at(-1)).toBe('backtest BTC: 2769 days scored (1m35s)\n');
    expect(writes.filter((w) => w === CLEAR)).toHaveLength(1); // nothing left to clear the second time
  });

  it('never writes a line wider than the terminal (a wrapped line breaks \\r redraws)', () => {
    const { stream, writes } = fakeStream(true, 40);
    createProgress('a rather long label for a narrow terminal', stream).update(1, 3);
    expect((writes[0] as string).slice(CLEAR.length).length).toBeLessThanOrEqual(39);
  });
});

describe('createProgress off a TTY', () => {
  it('writes nothing at all, so piped output and CI logs stay clean', () => {
    const { stream, writes } = fakeStream(false);
    const progress = createProgress('backtest BTC', stream);
    progress.update(1, 2);
    progress.update(2, 2);
    progress.done('finished');
    expect(writes).toEqual([]);
  });
});

describe('progressLine', () => {
  it('fills the bar in proportion and formats durations', () => {
    expect(progressLine('x', 0, 4, 0)).toBe(`x [${'░'.repeat(24)}]   0%  0/4  elapsed 0s`);
    expect(progressLine('x', 1, 4, 2_000)).toBe(
      `x [${'█'.repeat(6)}${'░'.repeat(18)}]  25%  1/4  elapsed 2s  ETA 6s`,
    );
    expect(progressLine('x', 4, 4, 3_725_000)).toBe(`x [${'█'.repeat(24)}] 100%  4/4  elapsed 1h02m`);
  });

  it('copes with a zero or overshooting total', () => {
    expect(progressLine('x', 0, 0, 0)).toContain('  0%  0/0');
    expect(progressLine('x', 7, 5, 0)).toContain('100%  7/5');
  });
});
