/**
 * Names the constructs share: where the handlers live, each function's Powertools service and the metrics
 * namespace. The alarms and the dashboard select metrics by the same names the functions are given.
 */
import { fileURLToPath } from 'node:url';

/** The repository root: handlers, the lock file and the tsconfig esbuild reads live here. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The functions, by the name the construct uses for them (`stressRun` only with a `stress` configuration). */
export type QmtFunctionName =
  | 'recalibrate'
  | 'sweepCoordinator'
  | 'sweepWorker'
  | 'marketWatch'
  | 'stressRun';

/** Each function's handler, relative to the repository root. */
export const HANDLER_ENTRIES: Readonly<Record<QmtFunctionName, string>> = {
  recalibrate: 'lambdas/recalibrate/handler.ts',
  sweepCoordinator: 'lambdas/sweep-coordinator/handler.ts',
  sweepWorker: 'lambdas/sweep-worker/handler.ts',
  marketWatch: 'lambdas/market-watch/handler.ts',
  stressRun: 'lambdas/stress-run/handler.ts',
};

/**
 * Powertools `service` of each function (`POWERTOOLS_SERVICE_NAME`). Powertools adds it as the `service`
 * dimension of every metric, so the alarms and the dashboard select the metrics by it.
 */
export const SERVICE_NAMES: Readonly<Record<QmtFunctionName, string>> = {
  recalibrate: 'recalibrate',
  sweepCoordinator: 'sweep-coordinator',
  sweepWorker: 'sweep-worker',
  marketWatch: 'market-watch',
  stressRun: 'stress-run',
};

/** CloudWatch namespace of the Powertools metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'qmt';
