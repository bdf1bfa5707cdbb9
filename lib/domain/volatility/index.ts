/**
 * Volatility models for the threshold model: log returns, RiskMetrics EWMA, GARCH(1,1) by maximum
 * likelihood, and the range (OHLC) estimators. Pure functions of their inputs: no I/O, no clock.
 */
export {
  DEFAULT_EWMA_SEED_WINDOW,
  type EwmaOptions,
  type EwmaSeed,
  ewmaVariances,
  ewmaVolatility,
} from './ewma.ts';
export {
  fitGarch11,
  GARCH_MIN_RETURNS,
  type GarchFit,
  type GarchParameters,
  garchForecastVariance,
  garchNegLogLik,
  garchTermVariance,
  garchVariances,
} from './garch.ts';
export {
  closeToCloseVolatility,
  garmanKlassVolatility,
  parkinsonVolatility,
  rogersSatchellVolatility,
  yangZhangVolatility,
  yangZhangWeight,
} from './range.ts';
export { type DatedReturn, datedLogReturns, logReturns } from './returns.ts';
