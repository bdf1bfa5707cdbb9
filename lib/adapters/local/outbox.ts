/**
 * The local outbox for `npm start`: alerts and ops events go to JSONL files instead of SNS, and each is
 * shown as one readable line on the terminal.
 *
 * Layout: `<directory>/alerts.jsonl` holds one margin alert per line, exactly the body SNS would carry
 * (so every line validates against `lib/schemas/margin-alert.v1.json`); `<directory>/ops.jsonl` holds one
 * ops message per line, the same body the ops topic would get. Two files rather than one with a `kind`
 * field, so a subscriber's parser can be tried on the alerts file as is.
 *
 * The outbox's memory of published alertIds belongs to one database: alertIds (`accountId:sequence`) start
 * again at sequence 1 in a new database, so an outbox that remembered another database's ids would swallow
 * the new alerts. `<directory>/database-id` names the database the files belong to.
 */
import { appendFile, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MarginAlert } from '../../domain/account/account.ts';
import { parsePublishableAlert } from '../../domain/alert/alert.ts';
import { alertLine } from '../../domain/alert/alert-line.ts';
import type { AlertPublisher, AlertPublishResult, OpsEvent, OpsPublisher } from '../../ports.ts';
import { opsMessage } from '../sns/ops-message.ts';

export const DEFAULT_OUTBOX_DIRECTORY = '.qmt/outbox';

/** Where terminal lines go: `process.stdout` by default, a buffer in tests. */
export interface LineSink {
  write(text: string): void;
}

export interface LocalOutboxOptions {
  readonly directory?: string;
  readonly terminal?: LineSink;
  /** ANSI colours on the terminal lines; off by default so piped output stays plain. */
  readonly color?: boolean;
  readonly now?: () => number;
  /**
   * The database whose alerts this outbox holds. If the directory's files belong to another database (or
   * to none recorded), they are moved to `<directory>/previous/` and the outbox starts empty.
   * @default - no database recorded; the files are kept whatever wrote them
   */
  readonly databaseId?: string;
  /** Write each new alert's line to the terminal as it is published. @default true */
  readonly echoAlerts?: boolean;
}

export interface LocalOutbox {
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly alertsFile: string;
  readonly opsFile: string;
  /** Where the files of another database were moved on opening, if they were. */
  readonly previousDirectory?: string;
}

const DATABASE_ID_FILE = 'database-id';

/**
 * Open (creating the directory if needed) the outbox. Alert ids already in `alerts.jsonl` are read first,
 * and the file is re-read for lines other writers appended before each publish, so publishing an alertId
 * that is already there (from this run, a previous run or another outbox on the same file) appends
 * nothing: the same at-most-once-per-alertId a subscriber gets by deduplicating.
 *
 * @example
 * const outbox = await openLocalOutbox({ directory: '.qmt/outbox', color: process.stdout.isTTY });
 * await outbox.alerts.publish(alerts);
 */
export async function openLocalOutbox(options: LocalOutboxOptions = {}): Promise<LocalOutbox> {
  const directory = options.directory ?? DEFAULT_OUTBOX_DIRECTORY;
  await mkdir(directory, { recursive: true });
  const previousDirectory =
    options.databaseId === undefined ? undefined : await claimFor(directory, options.databaseId);
  const terminal = options.terminal ?? process.stdout;
  const alerts = new LocalAlertOutbox(
    join(directory, 'alerts.jsonl'),
    options.echoAlerts === false ? { write: () => undefined } : terminal,
    options.color ?? false,
  );
  await alerts.refresh();
  const ops = new LocalOpsOutbox(join(directory, 'ops.jsonl'), terminal, options.now ?? Date.now);
  return {
    alerts,
    ops,
    alertsFile: alerts.file,
    opsFile: ops.file,
    ...(previousDirectory === undefined ? {} : { previousDirectory }),
  };
}

/**
 * Make `directory` the outbox of `databaseId`. Files written for another database are moved to `previous/`
 * (replacing an older generation): they are that database's history, not this one's memory.
 */
async function claimFor(directory: string, databaseId: string): Promise<string | undefined> {
  const idFile = join(directory, DATABASE_ID_FILE);
  const owner = await readFile(idFile, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (owner === databaseId) return undefined;
  const files = ['alerts.jsonl', 'ops.jsonl'];
  const present = (
    await Promise.all(
      files.map((name) =>
        stat(join(directory, name)).then(
          () => name,
          () => undefined,
        ),
      ),
    )
  ).filter((name): name is string => name !== undefined);
  let previous: string | undefined;
  if (present.length > 0) {
    previous = join(directory, 'previous');
    await rm(previous, { recursive: true, force: true });
    await mkdir(previous, { recursive: true });
    for (const name of present) await rename(join(directory, name), join(previous, name));
  }
  await writeFile(idFile, `${databaseId}\n`, 'utf8');
  return previous;
}

class LocalAlertOutbox implements AlertPublisher {
  private readonly knownIds = new Set<string>();
  /** Bytes of the file already scanned for ids, up to the end of its last complete line. */
  private scannedBytes = 0;
  private endsWithNewline = true;
  /** Publishes run one after another, so two calls in one process never interleave their appends. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly terminal: LineSink,
    private readonly color: boolean,
  ) {}

  publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    const run = this.queue.then(() => this.append(alerts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Read ids from lines appended since the last scan (by anyone). */
  async refresh(): Promise<void> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch {
      return; // No file yet: nothing published.
    }
    if (size < this.scannedBytes) {
      // Truncated or replaced: start over.
      this.knownIds.clear();
      this.scannedBytes = 0;
    }
    if (size === this.scannedBytes) {
      this.endsWithNewline = true; // scannedBytes always ends just after a newline (or is 0).
      return;
    }
    const handle = await open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(size - this.scannedBytes);
      await handle.read(buffer, 0, buffer.length, this.scannedBytes);
      const lastNewline = buffer.lastIndexOf(0x0a);
      this.endsWithNewline = buffer[buffer.length - 1] === 0x0a;
      if (lastNewline < 0) return; // Only a partial line so far.
      for (const line of buffer.subarray(0, lastNewline).toString('utf8').split('\n')) {
        const id = alertIdOfLine(line);
        if (id !== undefined) this.knownIds.add(id);
      }
      this.scannedBytes += lastNewline + 1;
    } finally {
      await handle.close();
    }
  }

  private async append(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    await this.refresh();
    const published: string[] = [];
    const failed: { alertId: string; reason: string }[] = [];
    const fresh: MarginAlert[] = [];
    const inThisCall = new Set<string>();
    alerts.forEach((alert, index) => {
      const rawId: unknown = (alert as { alertId?: unknown } | null)?.alertId;
      const alertId =
        typeof rawId === 'string' && rawId.length > 0 ? rawId : `<alert #${index} without alertId>`;
      if (inThisCall.has(alertId)) return;
      inThisCall.add(alertId);
      const parsed = parsePublishableAlert(alert);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        failed.push({
          alertId,
          reason: `invalid alert: ${issue?.path.map(String).join('.')}: ${issue?.message}`,
        });
        return;
      }
      if (!this.knownIds.has(alertId)) fresh.push(parsed.data);
      published.push(alertId);
    });
    if (fresh.length === 0) return { published, failed };

    const text = fresh.map((alert) => `${JSON.stringify(alert)}\n`).join('');
    try {
      // A crash can leave a partial last line; start on a new line so ours stay parseable.
      await appendFile(this.file, this.endsWithNewline ? text : `\n${text}`, 'utf8');
    } catch (error) {
      const reason = `could not write ${this.file}: ${error instanceof Error ? error.message : String(error)}`;
      const unwritten = new Set(fresh.map((alert) => alert.alertId));
      return {
        published: published.filter((id) => !unwritten.has(id)),
        failed: [...failed, ...fresh.map((alert) => ({ alertId: alert.alertId, reason }))],
      };
    }
    // Scan what was just written, so the scan position covers it and a later truncation is noticed.
    await this.refresh();
    for (const alert of fresh) {
      this.knownIds.add(alert.alertId);
      this.terminal.write(`${alertLine(alert, { color: this.color })}\n`);
    }
    return { published, failed };
  }
}

function alertIdOfLine(line: string): string | undefined {
  if (line.trim().length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    const id = (value as { alertId?: unknown } | null)?.alertId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined; // A damaged line: not an alert we can recognise, so it cannot block one.
  }
}

class LocalOpsOutbox implements OpsPublisher {
  constructor(
    readonly file: string,
    private readonly terminal: LineSink,
    private readonly now: () => number,
  ) {}

  async publish(event: OpsEvent): Promise<void> {
    const message = opsMessage(event, new Date(this.now()).toISOString());
    await appendFile(this.file, `${message.body}\n`, 'utf8');
    this.terminal.write(`[ops ${message.severity}] ${message.subject}\n`);
  }
}

/**
 * Every alert in an outbox file, oldest first (for `qmt` reports and tests); damaged lines are skipped.
 *
 * @example
 * const alerts = await readOutboxAlerts('.qmt/outbox/alerts.jsonl');
 */
export async function readOutboxAlerts(file: string): Promise<MarginAlert[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const alerts: MarginAlert[] = [];
  for (const line of text.split('\n')) {
    if (alertIdOfLine(line) === undefined) continue;
    const parsed = parsePublishableAlert(JSON.parse(line));
    if (parsed.success) alerts.push(parsed.data);
  }
  return alerts;
}
