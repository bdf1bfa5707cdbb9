/**
 * What the cascade reads from price history: the average daily volume an instrument's liquidations are
 * measured against, and the stressed co-move that carries a shock to an instrument not shocked.
 */
import { type Candle, DAY_MS } from '../market/candle.ts';

/**
 * Mean volume of the last `days` daily bars (bars shorter than a day are summed per UTC day first).
 * Undefined when the window holds no positive volume: such an instrument is refused for impact.
 *
 * @example
 * averageDailyVolume(series.candles, 30); // 2.9e10 (USD, for a Yahoo file)
 */
export function averageDailyVolume(candles: readonly Candle[], days: number): number | undefined {
  const perDay = new Map<number, number>();
  for (const candle of candles) {
    const day = Math.floor(candle.time / DAY_MS);
    perDay.set(day, (perDay.get(day) ?? 0) + (Number.isFinite(candle.volume) ? candle.volume : 0));
  }
  const window = [...perDay.entries()].sort((a, b) => a[0] - b[0]).slice(-days);
  if (window.length === 0) return undefined;
  const mean = window.reduce((sum, [, volume]) => sum + volume, 0) / window.length;
  return mean > 0 ? mean : undefined;
}

/** Daily log returns keyed by UTC day of the second close. */
export function dailyLogReturns(candles: readonly Candle[]): Map<number, number> {
  const closes = new Map<number, number>();
  for (const candle of candles) closes.set(Math.floor(candle.time / DAY_MS), candle.close);
  const days = [...closes.keys()].sort((a, b) => a - b);
  const returns = new Map<number, number>();
  for (let i = 1; i < days.length; i += 1) {
    const day = days[i] as number;
    const previous = days[i - 1] as number;
    const a = closes.get(previous) as number;
    const b = closes.get(day) as number;
    if (day - previous === 1 && a > 0 && b > 0) returns.set(day, Math.log(b / a));
  }
  return returns;
}

/**
 * The stressed co-move of `follower` on `shocked`: the least-squares slope of the follower's daily log
 * return on the shocked instrument's, over the days of the last `windowDays` on which the shocked
 * instrument had its worst `tailShare` of returns. The slope is ρ × σ_follower / σ_shocked on those days;
 * selecting days by the regressor leaves a slope unbiased, where a correlation measured on the same days
 * would be pulled toward zero. Undefined with fewer than 5 common stressed days or no spread.
 *
 * @example
 * stressedCoMove(btcReturns, ethReturns, 730, 0.05); // ≈ 1.2: ETH fell 1.2× BTC's log move on BTC's bad days
 */
export function stressedCoMove(
  shocked: ReadonlyMap<number, number>,
  follower: ReadonlyMap<number, number>,
  windowDays: number,
  tailShare: number,
): number | undefined {
  const common = [...shocked.keys()].filter((day) => follower.has(day)).sort((a, b) => a - b);
  const window = common.slice(-windowDays);
  const count = Math.max(5, Math.ceil(window.length * tailShare));
  if (window.length < count) return undefined;
  const worst = [...window].sort((a, b) => (shocked.get(a) as number) - (shocked.get(b) as number));
  const days = worst.slice(0, count);
  const xs = days.map((d) => shocked.get(d) as number);
  const ys = days.map((d) => follower.get(d) as number);
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < xs.length; i += 1) {
    sxx += ((xs[i] as number) - mx) ** 2;
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
  }
  return sxx > 0 ? sxy / sxx : undefined;
}
