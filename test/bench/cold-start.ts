/**
 * Cold start: each Lambda handler bundled as the stack bundles it, against a floor handler that only loads
 * the same AWS clients. Bundle bytes and module initialisation time (median `await import` of the bundle in
 * a fresh `node`), ours / floor.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { esbuildBuildOptions } from '../../infra/bundling.ts';
import { median, round } from './support/fixtures.ts';
import type { Bench, BenchFigure } from './types.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const RUNS = 7;
const BYTES_TARGET = 1.25;

const HANDLERS = [
  { name: 'recalibrate', entry: 'lambdas/recalibrate/handler.ts' },
  { name: 'sweep-coordinator', entry: 'lambdas/sweep-coordinator/handler.ts' },
  { name: 'sweep-worker', entry: 'lambdas/sweep-worker/handler.ts' },
] as const;

/** The least a handler using DynamoDB, SNS and SQS loads: the three clients, created on first use. */
const FLOOR_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
let clients;
export const handler = async () => {
  clients ??= [new DynamoDBClient({}), new SNSClient({}), new SQSClient({})];
  return { clients: clients.length };
};
`;

/**
 * The stack's bundling (`infra/bundling.ts`, what `NodejsFunction` runs esbuild with), quiet. Its source map
 * is written beside each bundle and not counted.
 */
const BUNDLE_OPTIONS: BuildOptions = { ...esbuildBuildOptions(), logLevel: 'silent' };

/** Imports the bundle named in argv and prints how long the import took. */
const WRAPPER_SOURCE = `
const started = performance.now();
await import(process.argv[2]);
const ms = performance.now() - started;
process.stderr.write('QMT_BENCH_IMPORT_MS=' + ms + '\\n');
`;

/**
 * What a handler reads at import: the stack's variables as `test/lambdas/support.ts` `lambdaEnv()` gives them
 * (copied: that module loads vitest), plus a region and dummy credentials. No AWS call happens at import.
 */
const IMPORT_ENV: Record<string, string> = {
  QMT_TABLE_PREFIX: 'qmt-test',
  QMT_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:qmt-test-alerts',
  QMT_OPS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:qmt-test-ops',
  QMT_SWEEP_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/qmt-test-sweep',
  QMT_CONFIG: JSON.stringify({ instruments: { BTC: {}, ETH: {} } }),
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'qmt-bench',
  POWERTOOLS_METRICS_NAMESPACE: 'qmt-bench',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

async function importMs(wrapper: string, bundle: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [wrapper, pathToFileURL(bundle).href], {
      env: { PATH: process.env.PATH ?? '', ...IMPORT_ENV },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const match = /QMT_BENCH_IMPORT_MS=([\d.]+)/.exec(err);
      if (code !== 0 || !match) {
        reject(new Error(`importing ${bundle} failed (exit ${code}): ${err.slice(-2000)}`));
        return;
      }
      resolvePromise(Number(match[1]));
    });
  });
}

const bench: Bench = async (log) => {
  const dir = await mkdtemp(join(tmpdir(), 'qmt-bench-cold-'));
  try {
    const wrapper = join(dir, 'wrapper.mjs');
    await writeFile(wrapper, WRAPPER_SOURCE);

    const floorFile = join(dir, 'floor.mjs');
    await build({
      ...BUNDLE_OPTIONS,
      stdin: { contents: FLOOR_SOURCE, resolveDir: ROOT, loader: 'js', sourcefile: 'floor.js' },
      outfile: floorFile,
    });
    const bundles: { name: string; file: string }[] = [];
    for (const handler of HANDLERS) {
      const file = join(dir, `${handler.name}.mjs`);
      await build({
        ...BUNDLE_OPTIONS,
        entryPoints: [join(ROOT, handler.entry)],
        outfile: file,
      });
      bundles.push({ name: handler.name, file });
    }

    const floorBytes = (await stat(floorFile)).size;
    // Interleaved, so drift in the machine's load touches every bundle alike.
    const times = new Map<string, number[]>([
      ['floor', []],
      ...bundles.map((b) => [b.name, []] as [string, number[]]),
    ]);
    await importMs(wrapper, floorFile); // warms the file cache and node itself
    for (let run = 0; run < RUNS; run++) {
      times.get('floor')?.push(await importMs(wrapper, floorFile));
      for (const b of bundles) times.get(b.name)?.push(await importMs(wrapper, b.file));
    }
    const floorMs = median(times.get('floor') ?? []);
    log(`floor handler: ${floorBytes} bytes, import ${round(floorMs, 1)} ms (median of ${RUNS})`);

    const figures: BenchFigure[] = [];
    for (const b of bundles) {
      const bytes = (await stat(b.file)).size;
      const ms = median(times.get(b.name) ?? []);
      log(
        `${b.name}: ${bytes} bytes, import ${round(ms, 1)} ms (runs: ${(times.get(b.name) ?? []).map((t) => round(t, 1)).join(', ')})`,
      );
      const bytesRatio = bytes / floorBytes;
      figures.push({
        name: `${b.name} bundle size`,
        ours: bytes,
        reference: floorBytes,
        unit: 'bytes',
        ratio: round(bytesRatio),
        target: `≤ ${BYTES_TARGET}× floor`,
        met: bytesRatio <= BYTES_TARGET,
        note: `as the stack bundles: minified ESM, ${BUNDLE_OPTIONS.target}, source map not counted`,
      });
      figures.push({
        name: `${b.name} module init`,
        ours: round(ms, 1),
        reference: round(floorMs, 1),
        unit: 'ms',
        ratio: round(ms / floorMs),
        note: `median of ${RUNS} fresh node processes, await import() only`,
      });
    }
    return { title: 'Cold start (handler bundle vs floor handler with the same AWS clients)', figures };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

export default bench;
