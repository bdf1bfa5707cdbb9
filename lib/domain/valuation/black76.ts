/**
 * Black-76: European options on a forward (or future) F. With discount factor D = e^(−rT),
 *
 *   d1 = (ln(F/K) + σ²T/2) / (σ√T),  d2 = d1 − σ√T
 *   call = D·(F·Φ(d1) − K·Φ(d2)),     put = D·(K·Φ(−d2) − F·Φ(−d1))
 *   Δcall = D·Φ(d1),                  Δput = −D·Φ(−d1)
 *
 * Crypto options are priced off the underlying's mark with r = 0 by default (Deribit's convention: the
 * forward already carries the funding). When σ√T is zero (expiry now, or zero volatility) the value is the
 * discounted intrinsic value and the delta a step; a forward of 0 (a −100% scenario) gives call 0, put D·K.
 * The functions take numbers, not objects, so the scenario loop allocates nothing.
 */
import { normalCdf } from '../math/normal.ts';

/** Milliseconds in the year used for time to expiry: ACT/365 (crypto trades every day). */
export const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

/** Time from `asOf` to `expiry` (both epoch ms) in years, ACT/365; negative once expired. */
export function yearsToExpiry(expiryMs: number, asOfMs: number): number {
  return (expiryMs - asOfMs) / YEAR_MS;
}

/**
 * Black-76 value of one option on one unit of the underlying.
 *
 * @param isCall call (true) or put (false)
 * @param forward F ≥ 0
 * @param strike K > 0
 * @param years T ≥ 0 (negative is treated as 0)
 * @param volatility σ ≥ 0, annualised
 * @param rate r, continuously compounded (default 0)
 * @example
 * black76Price(true, 100, 100, 1, 0.2); // 7.965567455405804
 */
export function black76Price(
  isCall: boolean,
  forward: number,
  strike: number,
  years: number,
  volatility: number,
  rate = 0,
): number {
  const t = years > 0 ? years : 0;
  const discount = rate === 0 ? 1 : Math.exp(-rate * t);
  const stdDev = volatility * Math.sqrt(t);
  if (!(stdDev > 0) || !(forward > 0)) {
    const intrinsic = isCall ? forward - strike : strike - forward;
    return intrinsic > 0 ? discount * intrinsic : 0;
  }
  const d1 = Math.log(forward / strike) / stdDev + 0.5 * stdDev;
  const d2 = d1 - stdDev;
  return isCall
    ? discount * (forward * normalCdf(d1) - strike * normalCdf(d2))
    : discount * (strike * normalCdf(-d2) - forward * normalCdf(-d1));
}

/**
 * Black-76 delta ∂V/∂F of one option on one unit of the underlying (same arguments as `black76Price`).
 * At σ√T = 0 it is the step D·1{F > K} (call) or −D·1{F < K} (put), ½·D at the money.
 *
 * @example
 * black76Delta(true, 100, 100, 1, 0.2); // 0.539827837277029
 */
export function black76Delta(
  isCall: boolean,
  forward: number,
  strike: number,
  years: number,
  volatility: number,
  rate = 0,
): number {
  const t = years > 0 ? years : 0;
  const discount = rate === 0 ? 1 : Math.exp(-rate * t);
  const stdDev = volatility * Math.sqrt(t);
  if (!(stdDev > 0) || !(forward > 0)) {
    const step = forward > strike ? 1 : forward < strike ? 0 : 0.5;
    return isCall ? discount * step : -discount * (1 - step);
  }
  const d1 = Math.log(forward / strike) / stdDev + 0.5 * stdDev;
  return isCall ? discount * normalCdf(d1) : -discount * normalCdf(-d1);
}
