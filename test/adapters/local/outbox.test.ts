import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLocalOutbox, readOutboxAlerts } from '../../../lib/adapters/local/outbox.ts';
import type { OpsEvent } from '../../../lib/ports.ts';
import { sampleAlert, sampleAlerts } from '../../domain/alert/sample-alert.ts';
import { validateMarginAlert } from '../../schemas/ajv.ts';

let root: string;
let directory: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'qmt-outbox-'));
  directory = join(root, 'nested', 'outbox');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function terminal() {
  const lines: string[] = [];
  return { lines, sink: { write: (text: string) => void lines.push(text) } };
}

async function lines(file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown);
}

describe('local outbox: alerts', () => {
  it('creates its directory and appends one schema-valid JSON line per alert', async () => {
    const screen = terminal();
    const outbox = await openLocalOutbox({ directory, terminal: screen.sink });
    const alerts = sampleAlerts(3);
    const result = await outbox.alerts.publish(alerts);

    expect(result).toEqual({ published: alerts.map((a) => a.alertId), failed: [] });
    expect(outbox.alertsFile).toBe(join(directory, 'alerts.jsonl'));
    const written = await lines(outbox.alertsFile);
    expect(written).toEqual(alerts);
    for (const line of written) expect(validateMarginAlert(line)).toBe(true);
    expect(await readOutboxAlerts(outbox.alertsFile)).toEqual(alerts);
  });

  it('writes one readable terminal line per alert, uncoloured unless asked', async () => {
    const plain = terminal();
    const outbox = await openLocalOutbox({ directory, terminal: plain.sink });
    await outbox.alerts.publish([sampleAlert()]);
    expect(plain.lines).toEqual([
      '✖ acc-0042  WARNING → MARGIN_CALL  ratio 0.98  equity 9,800.00  shortfall 2,700.00  set 2026-11-24T00:00Z  at BTC 101,250.50\n',
    ]);

    const coloured = terminal();
    const again = await openLocalOutbox({
      directory: join(root, 'other'),
      terminal: coloured.sink,
      color: true,
    });
    await again.alerts.publish([sampleAlert()]);
    expect(coloured.lines[0]?.startsWith('\u001b[1;31m✖ acc-0042  WARNING → MARGIN_CALL')).toBe(true);
    expect(coloured.lines[0]?.endsWith('\u001b[0m\n')).toBe(true);
  });

  it('appends an alertId once, however often and from however many outboxes it is published', async () => {
    const first = terminal();
    const second = terminal();
    const a = await openLocalOutbox({ directory, terminal: first.sink });
    const b = await openLocalOutbox({ directory, terminal: second.sink }); // opened before a wrote anything
    const alerts = sampleAlerts(2);

    expect((await a.alerts.publish(alerts)).published).toHaveLength(2);
    expect((await a.alerts.publish(alerts)).published).toHaveLength(2);
    const fromB = await b.alerts.publish([...alerts, sampleAlert({ accountId: 'acc-new' })]);
    const c = await openLocalOutbox({ directory, terminal: terminal().sink }); // opened after
    await c.alerts.publish(alerts);

    expect(fromB.published).toEqual([...alerts.map((x) => x.alertId), 'acc-new:7']);
    expect(await lines(a.alertsFile)).toHaveLength(3);
    expect(first.lines).toHaveLength(2);
    expect(second.lines).toHaveLength(1);
  });

  it('keeps concurrent publishes in one process from writing the same alert twice', async () => {
    const outbox = await openLocalOutbox({ directory, terminal: terminal().sink });
    const alerts = sampleAlerts(5);
    await Promise.all([
      outbox.alerts.publish(alerts),
      outbox.alerts.publish(alerts),
      outbox.alerts.publish(alerts),
    ]);
    expect(await lines(outbox.alertsFile)).toHaveLength(5);
  });

  it('survives a damaged or half-written line left by a crash', async () => {
    const first = await openLocalOutbox({ directory, terminal: terminal().sink });
    await first.alerts.publish([sampleAlert({ accountId: 'acc-a' })]);
    await appendFile(first.alertsFile, 'not json\n{"alertId":"acc-b:7","sch');

    const reopened = await openLocalOutbox({ directory, terminal: terminal().sink });
    const result = await reopened.alerts.publish([
      sampleAlert({ accountId: 'acc-a' }),
      sampleAlert({ accountId: 'acc-b' }),
    ]);
    expect(result.published).toEqual(['acc-a:7', 'acc-b:7']);
    expect((await readOutboxAlerts(first.alertsFile)).map((a) => a.alertId)).toEqual(['acc-a:7', 'acc-b:7']);
  });

  it('refuses an invalid alert and writes nothing for it', async () => {
    const screen = terminal();
    const outbox = await openLocalOutbox({ directory, terminal: screen.sink });
    const result = await outbox.alerts.publish([{ ...sampleAlert(), marginRatio: 'NaN' }]);
    expect(result.published).toEqual([]);
    expect(result.failed).toEqual([
      { alertId: 'acc-0042:7', reason: expect.stringMatching(/^invalid alert: marginRatio/) },
    ]);
    expect(screen.lines).toEqual([]);
  });

  it('starts over if the file is replaced by a shorter one', async () => {
    const outbox = await openLocalOutbox({ directory, terminal: terminal().sink });
    await outbox.alerts.publish(sampleAlerts(3));
    await writeFile(outbox.alertsFile, '');
    await outbox.alerts.publish(sampleAlerts(1));
    expect(await lines(outbox.alertsFile)).toHaveLength(1);
  });
});

describe('local outbox: ops events', () => {
  it('appends the ops message to ops.jsonl and shows its subject', async () => {
    const screen = terminal();
    const outbox = await openLocalOutbox({
      directory,
      terminal: screen.sink,
      now: () => Date.parse('2026-11-24T00:05:00Z'),
    });
    const event: OpsEvent = {
      type: 'recalibration.failed',
      runId: '2026-11-24T00:00Z',
      reason: 'no market data',
    };
    await outbox.ops.publish(event);
    await outbox.ops.publish(event);

    expect(outbox.opsFile).toBe(join(directory, 'ops.jsonl'));
    expect(await lines(outbox.opsFile)).toEqual([
      { schemaVersion: '1.0', ...event, publishedAt: '2026-11-24T00:05:00.000Z' },
      { schemaVersion: '1.0', ...event, publishedAt: '2026-11-24T00:05:00.000Z' },
    ]);
    expect(screen.lines[0]).toBe('[ops critical] qmt recalibration FAILED (run 2026-11-24T00:00Z)\n');
    expect(await readOutboxAlerts(outbox.alertsFile)).toEqual([]);
  });
});

describe('local outbox: tied to its database', () => {
  it('forgets the alertIds of another database, keeping its files in previous/, and remembers its own', async () => {
    // Prepare: database A announced acc-0000:7; a new database B starts its sequences again.
    const a = await openLocalOutbox({ directory, terminal: terminal().sink, databaseId: 'db-a' });
    await a.alerts.publish(sampleAlerts(1));

    // Act
    const screen = terminal();
    const b = await openLocalOutbox({ directory, terminal: screen.sink, databaseId: 'db-b' });
    await b.alerts.publish(sampleAlerts(1));
    const bAgain = await openLocalOutbox({ directory, terminal: terminal().sink, databaseId: 'db-b' });
    await bAgain.alerts.publish(sampleAlerts(1));

    // Assess: B announced the same alertId once, and A's file was kept aside, not lost.
    expect(screen.lines).toHaveLength(1);
    expect(b.previousDirectory).toBe(join(directory, 'previous'));
    expect(bAgain.previousDirectory).toBeUndefined();
    expect(await lines(b.alertsFile)).toEqual(sampleAlerts(1));
    expect(await lines(join(directory, 'previous', 'alerts.jsonl'))).toEqual(sampleAlerts(1));
  });

  it('can keep alert lines off the terminal (the local cycle prints them sorted)', async () => {
    const screen = terminal();
    const outbox = await openLocalOutbox({ directory, terminal: screen.sink, echoAlerts: false });
    await outbox.alerts.publish(sampleAlerts(2));
    expect(screen.lines).toEqual([]);
    expect(await lines(outbox.alertsFile)).toHaveLength(2);
  });
});
