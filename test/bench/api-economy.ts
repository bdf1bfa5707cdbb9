/**
 * API economy: one real sweep (`sweepSegment` with the DynamoDB adapters on DynamoDB Local and the SNS alert
 * publisher on a mocked SNSClient), requests counted per command, against the fewest requests the batch APIs
 * allow for the same work.
 */

import { PublishBatchCommand, type PublishBatchCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import { BATCH_GET_LIMIT } from '../../lib/adapters/dynamodb/batch.ts';
import { createDynamoDbClient } from '../../lib/adapters/dynamodb/client.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { startDynamoDbLocal } from '../../lib/adapters/local/dynamodb-local.ts';
import { SnsAlertPublisher } from '../../lib/adapters/sns/alert-publisher.ts';
import { SNS_BATCH_LIMITS } from '../../lib/adapters/sns/batching.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { FixedClock, RecordingOps } from '../app/in-memory-ports.ts';
import { btcSet } from '../integration/faults/support.ts';
import { benchAccounts, countRequests, round } from './support/fixtures.ts';
import type { Bench, BenchFigure } from './types.ts';

const ACCOUNTS = 2_000;
/** Every tenth account moves out of OK. */
const CHANGE_EVERY = 10;
const PAGE_SIZE = 500;
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:qmt-bench-alerts';

const bench: Bench = async (log) => {
  const local = await startDynamoDbLocal({ timeToLive: false }); // fixed, past clocks: see CreateTablesOptions.timeToLive
  const sns = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const snsMock = mockClient(sns);
  const client = createDynamoDbClient({ endpoint: local.endpoint });
  try {
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
      Failed: [],
    }));
    await new DynamoDbThresholdStore(local.client, local.tables.thresholds).publishSet(btcSet, undefined);
    await writeAccounts(local.client, local.tables.accounts, benchAccounts(ACCOUNTS, CHANGE_EVERY));

    const counter = countRequests(client);
    const result = await sweepSegment(
      {
        accounts: new DynamoDbAccountSource(client, local.tables.accounts),
        thresholds: new DynamoDbThresholdStore(client, local.tables.thresholds),
        statuses: new DynamoDbMarginStatusStore(client, local.tables.marginStatus),
        alerts: new SnsAlertPublisher({ client: sns, topicArn: TOPIC_ARN }),
        ops: new RecordingOps(),
        clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
      },
      { runId: 'bench-1', segment: { segment: 0, totalSegments: 1 }, pageSize: PAGE_SIZE },
    );
    const swept = result.counts.accounts;
    const alerts = result.counts.alertsPublished;
    const transitions = result.counts.transitions;
    const sends = (name: string) => counter.sends.get(name) ?? 0;
    const publishBatches = snsMock.commandCalls(PublishBatchCommand).length;
    log(
      `swept ${swept} accounts, ${transitions} transitions, ${alerts} alerts; requests: ${JSON.stringify(Object.fromEntries(counter.sends))}, PublishBatch ${publishBatches}`,
    );
    const retried = [...counter.attempts].filter(([name, n]) => n !== sends(name));
    if (retried.length > 0)
      log(`SDK retries seen (attempts ≠ sends): ${JSON.stringify(Object.fromEntries(retried))}`);

    const perAccount = (name: string, ours: number, minimum: number, note: string): BenchFigure => ({
      name,
      ours: round(ours / swept, 5),
      reference: round(minimum / swept, 5),
      unit: 'requests/account',
      ratio: round(ours / minimum),
      note,
    });
    const perAlert = (name: string, ours: number, minimum: number, note: string): BenchFigure => ({
      name,
      ours: round(ours / alerts, 4),
      reference: round(minimum / alerts, 4),
      unit: 'requests/alert',
      ratio: round(ours / minimum),
      note,
    });
    const otherCommands = [...counter.sends].filter(
      ([name]) =>
        !['ScanCommand', 'BatchGetItemCommand', 'PutItemCommand', 'UpdateItemCommand'].includes(name),
    );
    const figures: BenchFigure[] = [
      perAccount(
        'Scan pages',
        sends('ScanCommand'),
        Math.ceil(swept / PAGE_SIZE),
        `${sends('ScanCommand')} pages for ${swept} accounts at Limit ${PAGE_SIZE}; minimum ⌈accounts/pageSize⌉`,
      ),
      perAccount(
        'BatchGetItem (statuses)',
        sends('BatchGetItemCommand'),
        Math.ceil(swept / BATCH_GET_LIMIT),
        `reference: every status, ⌈accounts/${BATCH_GET_LIMIT}⌉; ours reads only watched statuses (none yet on a first sweep) and, a page at a time, those of the accounts about to change state`,
      ),
      perAlert(
        'PutItem (conditional transitions)',
        sends('PutItemCommand'),
        transitions,
        'one conditional write per transition is the minimum: conditions cannot be batched',
      ),
      perAlert(
        'PublishBatch',
        publishBatches,
        Math.ceil(alerts / SNS_BATCH_LIMITS.maxEntries),
        `minimum ⌈alerts/${SNS_BATCH_LIMITS.maxEntries}⌉ over the whole sweep (ours publishes per page)`,
      ),
      perAlert(
        'UpdateItem (pendingAlert clears)',
        sends('UpdateItemCommand'),
        alerts,
        'one conditional clear per published alert',
      ),
      {
        name: 'other DynamoDB requests per sweep',
        ours: otherCommands.reduce((sum, [, n]) => sum + n, 0),
        unit: 'requests/sweep',
        note: otherCommands.map(([name, n]) => `${name} ${n}`).join(', ') || 'none',
      },
    ];
    return {
      title: `API economy (one sweep of ${ACCOUNTS} accounts, ${alerts} alerts, page size ${PAGE_SIZE}; DynamoDB Local, mocked SNS)`,
      figures,
    };
  } finally {
    snsMock.restore();
    sns.destroy();
    client.destroy();
    await local.stop();
  }
};

export default bench;
