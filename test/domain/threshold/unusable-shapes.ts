/** The unusable shapes a new listing's first data has come in, and the day they are recalibrated on. */

import { parseCandlesCsv } from '../../../lib/adapters/csv-file.ts';
import type { CandleSeries } from '../../../lib/domain/market/candle.ts';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';

export const END = Date.UTC(2026, 10, 24);
const good = generateCandles({ instrument: 'SOL', days: 800, endTime: END, startPrice: 20, seed: 7 });
export const lastClose = good.candles[good.candles.length - 1]?.close as number;

export const UNUSABLE_SHAPES: readonly { readonly name: string; readonly series: CandleSeries }[] = [
  { name: 'header only', series: parseCandlesCsv('Date,Open,High,Low,Close,Volume\n', 'SOL') },
  {
    name: 'a gap',
    series: { ...good, candles: good.candles.filter((_, i) => i !== 400) },
  },
  {
    name: 'a duplicate day',
    series: { ...good, candles: [...good.candles.slice(0, 401), ...good.candles.slice(400)] },
  },
  {
    name: 'weekly bars',
    series: { ...good, intervalMs: 7 * DAY_MS, candles: good.candles.filter((_, i) => i % 7 === 6) },
  },
];
