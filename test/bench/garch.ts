/**
 * GARCH(1,1) fits, ours (`fitGarch11`) beside R fGarch's `garchFit` on the same returns, timed in the same
 * run: the four windows of `../shared/reference/garch-fgarch.json` (percent log returns of the shared BTC,
 * ETH and SOL price files). Ours: median of 20 fits after warm-up. fGarch: timed inside R with
 * `system.time` over 5 fits after one warm-up (R's start-up excluded). Targets per window: our negative
 * log-likelihood ≤ fGarch's + 1e-6 (a fit at least as good), and our time < fGarch's.
 *
 * Without the reference file, generated series stand in; without Rscript or fGarch, the timing comparison
 * is skipped (and the likelihood is compared with the stored reference values, when there are any).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { fitGarch11, type GarchFit } from '../../lib/domain/volatility/garch.ts';
import { logReturns } from '../../lib/domain/volatility/returns.ts';
import { readDailyCandles, readJson, windowReturns } from '../data/domain/volatility/price-history.ts';
import { REPO_ROOT } from '../data/shared.ts';
import type { Bench, BenchFigure } from './types.ts';
import { medianOf } from './valuation.ts';

const OUR_REPETITIONS = 20;
const R_REPETITIONS = 5;
const REFERENCE_FILE = '../shared/reference/garch-fgarch.json';

interface ReferenceFit {
  file: string;
  symbol: string;
  from: string;
  to: string;
  n: number;
  negLogLik: number;
}

interface Window {
  label: string;
  returns: number[];
  /** fGarch's negLogLik from the stored reference file, when the window came from it. */
  storedNegLogLik?: number;
}

interface RFit {
  seconds: number;
  negLogLik: number;
  omega: number;
  alpha: number;
  beta: number;
}

function windows(log: (line: string) => void): Window[] {
  const referencePath = path.resolve(REPO_ROOT, REFERENCE_FILE);
  if (existsSync(referencePath)) {
    const { fits } = readJson<{ fits: ReferenceFit[] }>(REFERENCE_FILE);
    const usable = fits.filter((f) => existsSync(path.resolve(REPO_ROOT, f.file)));
    if (usable.length === fits.length) {
      return fits.map((f) => ({
        label: `${f.symbol} ${f.from.slice(0, 7)}…${f.to.slice(0, 7)}`,
        returns: windowReturns(readDailyCandles(f.file), f.from, f.to, 100),
        storedNegLogLik: f.negLogLik,
      }));
    }
  }
  log(`${REFERENCE_FILE} or its price files are absent: fitting generated series instead (synthetic data)`);
  const end = Date.parse('2026-11-24T00:00:00Z');
  return [
    { symbol: 'BTC', days: 1462, seed: 101 },
    { symbol: 'BTC', days: 1096, seed: 102 },
    { symbol: 'ETH', days: 1462, seed: 103 },
    { symbol: 'SOL', days: 1096, seed: 104 },
  ].map(({ symbol, days, seed }) => {
    const series = generateCandles({ instrument: symbol, days, endTime: end, startPrice: 100, seed });
    return {
      label: `${symbol} generated seed ${seed} (${days - 1} returns)`,
      returns: logReturns(series.candles.map((c) => c.close)).map((r) => 100 * r),
    };
  });
}

const R_SCRIPT = `
suppressMessages(library(fGarch))
args <- commandArgs(trailingOnly = TRUE)
reps <- as.integer(args[1])
files <- args[-1]
out <- character(0)
for (f in files) {
  r <- scan(f, quiet = TRUE)
  fit <- garchFit(~garch(1,1), data = r, include.mean = FALSE, cond.dist = 'norm', trace = FALSE)
  t <- system.time(for (i in seq_len(reps)) fit <- garchFit(~garch(1,1), data = r, include.mean = FALSE, cond.dist = 'norm', trace = FALSE))[['elapsed']]
  cf <- coef(fit)
  out <- c(out, sprintf('{"seconds":%.9g,"negLogLik":%.12g,"omega":%.12g,"alpha":%.12g,"beta":%.12g}',
    t / reps, as.numeric(fit@fit$llh), cf[['omega']], cf[['alpha1']], cf[['beta1']]))
}
cat('[', paste(out, collapse = ','), ']\\n', sep = '')
`;

/** fGarch fits of each window timed inside R, or a reason why not. */
function fgarchFits(list: readonly Window[]): RFit[] | string {
  const probe = spawnSync('Rscript', ['-e', 'suppressMessages(library(fGarch))'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return probe.error ? 'Rscript not found' : 'R package fGarch not installed';
  }
  const directory = mkdtempSync(path.join(os.tmpdir(), 'qmt-bench-garch-'));
  try {
    const script = path.join(directory, 'fit.R');
    writeFileSync(script, R_SCRIPT);
    const files = list.map((w, i) => {
      const file = path.join(directory, `window-${i}.csv`);
      writeFileSync(file, `${w.returns.map((r) => r.toPrecision(17)).join('\n')}\n`);
      return file;
    });
    const run = spawnSync('Rscript', [script, String(R_REPETITIONS), ...files], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (run.status !== 0) return `Rscript failed: ${run.stderr.trim().split('\n').slice(-3).join(' / ')}`;
    const line = run.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as RFit[];
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const bench: Bench = async (log) => {
  const list = windows(log);
  const figures: BenchFigure[] = [];
  log(`timing fGarch inside R (${R_REPETITIONS} fits per window after a warm-up)`);
  const r = fgarchFits(list);
  if (typeof r === 'string') log(`${r}: skipping the fGarch comparison`);
  for (const [i, window] of list.entries()) {
    let fit: GarchFit = fitGarch11(window.returns);
    for (let w = 0; w < 3; w++) fit = fitGarch11(window.returns);
    const times: number[] = [];
    for (let k = 0; k < OUR_REPETITIONS; k++) {
      const t0 = performance.now();
      fit = fitGarch11(window.returns);
      times.push(performance.now() - t0);
    }
    const ourMs = medianOf(times);
    const theirs = typeof r === 'string' ? undefined : r[i];
    log(
      `${window.label}: n = ${window.returns.length}, ours ${ourMs.toFixed(2)} ms` +
        (theirs ? `, fGarch ${(theirs.seconds * 1000).toFixed(1)} ms` : ''),
    );
    if (theirs) {
      const ratio = ourMs / (theirs.seconds * 1000);
      figures.push({
        name: `${window.label} fit time`,
        ours: ourMs,
        reference: theirs.seconds * 1000,
        unit: 'ms/fit',
        ratio,
        target: 'ratio < 1 (faster)',
        met: ratio < 1,
      });
    }
    const referenceLik = theirs?.negLogLik ?? window.storedNegLogLik;
    figures.push({
      name: `${window.label} −log L`,
      ours: fit.negLogLik,
      unit: 'nats',
      ...(referenceLik === undefined
        ? { note: 'no fGarch value to compare with' }
        : {
            reference: referenceLik,
            target: '≤ fGarch + 1e-6',
            met: fit.negLogLik <= referenceLik + 1e-6,
            note:
              `ours − fGarch = ${(fit.negLogLik - referenceLik).toExponential(3)}` +
              (theirs ? '' : ' (fGarch value from the stored reference file; R not run)') +
              ` (ω ${fit.omega.toPrecision(5)}, α ${fit.alpha.toPrecision(5)}, β ${fit.beta.toPrecision(5)}` +
              (theirs
                ? `; fGarch ω ${theirs.omega.toPrecision(5)}, α ${theirs.alpha.toPrecision(5)}, β ${theirs.beta.toPrecision(5)})`
                : ')'),
          }),
    });
  }
  return {
    title:
      typeof r === 'string'
        ? `GARCH(1,1) fits (fGarch comparison skipped: ${r})`
        : 'GARCH(1,1) fits: fitGarch11 vs R fGarch garchFit (same returns, timed in-process)',
    figures,
  };
};

export default bench;
