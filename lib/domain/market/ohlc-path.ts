/**
 * An intraday path for a day known only by its daily figures: for a replay (the demo's crash day) when no
 * intraday file is given. Always labelled as a path in its source, never passed off as traded prices.
 */
import { type Candle, type CandleSeries, DAY_MS } from './candle.ts';

export interface DailyFigures {
  /** The UTC day's start (ms). */
  readonly day: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

/**
 * One day as hourly bars built from its daily open, high, low and close: a straight walk O→H→L→C when the
 * high is nearer the open than the low (the day went up first), else O→L→H→C. Each turning point falls on
 * an hour's close (the first at 01:00 at the earliest, the last before the day's close), placed by the
 * distance walked so far, so the extremes are marks the watch sees. A path, not what traded: labelled so.
 */
export function ohlcPath(instrument: string, day: DailyFigures): CandleSeries {
  const hour = DAY_MS / 24;
  const upFirst = Math.abs(day.high - day.open) <= Math.abs(day.open - day.low);
  const points = upFirst
    ? [day.open, day.high, day.low, day.close]
    : [day.open, day.low, day.high, day.close];
  const legs = [1, 2, 3].map((i) => Math.abs((points[i] as number) - (points[i - 1] as number)));
  const total = legs.reduce((a, b) => a + b, 0) || 1;
  const first = Math.min(22, Math.max(1, Math.round((24 * (legs[0] as number)) / total)));
  const second = Math.min(
    23,
    Math.max(first + 1, Math.round((24 * ((legs[0] as number) + (legs[1] as number))) / total)),
  );
  const hours = [0, first, second, 24];
  const priceAt = (h: number) => {
    let leg = 0;
    while (leg < 2 && h > (hours[leg + 1] as number)) leg++;
    const h0 = hours[leg] as number;
    const h1 = hours[leg + 1] as number;
    const p0 = points[leg] as number;
    const p1 = points[leg + 1] as number;
    return p0 + ((p1 - p0) * (h - h0)) / (h1 - h0);
  };
  const candles: Candle[] = [];
  for (let h = 0; h < 24; h++) {
    const open = priceAt(h);
    const close = priceAt(h + 1);
    candles.push({
      time: day.day + h * hour,
      open,
      high: Math.max(open, close),
      low: Math.min(open, close),
      close,
      volume: 0,
    });
  }
  const order = upFirst ? 'O→H→L→C' : 'O→L→H→C';
  return {
    instrument,
    intervalMs: hour,
    candles,
    source: `intraday path ${order} built from the day's open, high, low and close (not traded prices)`,
  };
}
