// Public face of the statistical building blocks: pure functions, no I/O, no clock.
export { binomialCdf, binomialPmf } from './binomial.ts';
export { chiSquareCdf, chiSquareSurvival } from './chi-square.ts';
export {
  normalCdf,
  normalExpectedShortfall,
  normalPdf,
  normalQuantile,
  normalSurvival,
} from './normal.ts';
export { empiricalExpectedShortfall, empiricalQuantile } from './quantile.ts';
export {
  logBeta,
  logGamma,
  regularizedBeta,
  regularizedBetaPair,
  regularizedGammaP,
  regularizedGammaPair,
  regularizedGammaQ,
} from './special.ts';
export {
  fitStandardizedTDegreesOfFreedom,
  standardizedTExpectedShortfall,
  standardizedTQuantile,
  studentTCdf,
  studentTPdf,
  studentTQuantile,
  type TFit,
  type TFitOptions,
} from './student-t.ts';
