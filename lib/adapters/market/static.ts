/**
 * A market-data source over series already in memory (fetched once, read from files, or generated): the
 * local cycle pulls its data up front and hands the handlers this source.
 */
import { UnknownInstrumentError } from '../../config/instruments.ts';
import type { CandleSeries } from '../../domain/market/candle.ts';
import type { MarketDataSource, TimeRange } from '../../ports.ts';

export class StaticMarketSource implements MarketDataSource {
  readonly name = 'static';
  private readonly byInstrument: ReadonlyMap<string, CandleSeries>;

  constructor(series: readonly CandleSeries[]) {
    this.byInstrument = new Map(series.map((s) => [s.instrument, s]));
  }

  /**
   * The candles from `range.from` on. Candles at or after `range.to` are passed on, not cut: they are the
   * still-open day or a file dated into the future, and the validator drops the first and holds the
   * instrument for the second; cut here, a misdated file would look fresh. A replay as of a past day cuts
   * its files itself (see the cycle command).
   */
  async candles(instrument: string, range: TimeRange): Promise<CandleSeries> {
    const series = this.byInstrument.get(instrument);
    if (!series) throw new UnknownInstrumentError(instrument, [...this.byInstrument.keys()].sort());
    return { ...series, candles: series.candles.filter((c) => !(c.time < range.from)) };
  }
}
