import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import { mergePolicyDocuments } from '../../lib/domain/threshold/policy-book.ts';

const ALERTS = 'arn:aws:sns:eu-west-1:123456789012:qmt-alerts';
const OPS = 'arn:aws:sns:eu-west-1:123456789012:qmt-ops';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/qmt-sweep';

const envWith = (document: unknown, extra: Record<string, string> = {}) => ({
  QMT_CONFIG: JSON.stringify(document),
  QMT_ALERTS_TOPIC_ARN: ALERTS,
  QMT_OPS_TOPIC_ARN: OPS,
  QMT_SWEEP_QUEUE_URL: QUEUE,
  ...extra,
});

/** The ConfigError `load` throws (fails the test if it throws nothing or something else). */
function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadRuntimeConfig', () => {
  it('parses a valid document and fills in the defaults', () => {
    // Prepare
    const env = envWith(
      {
        instruments: { BTC: { policy: { confidence: 0.995 } }, ETH: {} },
        defaultPolicy: { marginPeriodOfRiskDays: 2 },
        sweep: { pageSize: 200 },
      },
      { QMT_TABLE_PREFIX: 'qmt-dev', QMT_ACCOUNTS_TABLE: 'exchange-accounts' },
    );
    // Act
    const config = loadRuntimeConfig(env, {
      require: ['alertsTopicArn', 'opsTopicArn', 'sweepQueueUrl', 'instruments'],
    });
    // Assess
    expect(config.tables).toEqual({
      thresholds: 'qmt-dev-thresholds',
      accounts: 'exchange-accounts',
      marginStatus: 'qmt-dev-margin-status',
      runs: 'qmt-dev-runs',
      breachIndex: 'qmt-dev-breach-index',
      candles: 'qmt-dev-candles',
    });
    expect(config.alertsTopicArn).toBe(ALERTS);
    expect(config.opsTopicArn).toBe(OPS);
    expect(config.sweepQueueUrl).toBe(QUEUE);
    expect(config.instruments.map((i) => i.instrument)).toEqual(['BTC', 'ETH']);
    const [btc, eth] = config.instruments;
    // The instrument's own field wins; defaultPolicy applies beneath it; the committee defaults fill the rest.
    expect(btc?.policy.confidence).toBe(0.995);
    expect(btc?.policy.marginPeriodOfRiskDays).toBe(2);
    expect(eth?.policy).toEqual({ ...DEFAULT_THRESHOLD_POLICY, marginPeriodOfRiskDays: 2 });
    expect(config.venues).toEqual(['deribit', 'binance', 'coinbase']);
    expect(Object.keys(config.catalogue)).toEqual(['BTC', 'ETH', 'SOL']);
    expect(config.sweep).toEqual({ pageSize: 200 });
    expect(config.consensus).toEqual({});
    expect(config.levels).toBeUndefined();
    expect(config.source).toBe('QMT_CONFIG');
  });

  it('adds catalogue listings, venues, consensus and levels from the document', () => {
    const config = loadRuntimeConfig(
      envWith({
        instruments: { DOGE: {} },
        catalogue: { DOGE: { binance: { symbol: 'DOGEUSDT' }, kraken: { pair: 'XDGUSD' } } },
        venues: ['binance', 'kraken'],
        consensus: { quorum: 2, tolerance: 0.03 },
        levels: { warning: 1.5 },
      }),
    );
    expect(config.catalogue.DOGE).toEqual({ binance: { symbol: 'DOGEUSDT' }, kraken: { pair: 'XDGUSD' } });
    expect(config.venues).toEqual(['binance', 'kraken']);
    expect(config.consensus).toEqual({ quorum: 2, tolerance: 0.03 });
    expect(config.levels).toEqual({ ...DEFAULT_THRESHOLD_POLICY.levels, warning: 1.5 });
  });

  it('reads the document from QMT_CONFIG_FILE for local runs', () => {
    const config = loadRuntimeConfig(
      { QMT_CONFIG_FILE: '/etc/qmt.json' },
      { readFile: (path) => (path === '/etc/qmt.json' ? JSON.stringify({ instruments: { SOL: {} } }) : '') },
    );
    expect(config.instruments.map((i) => i.instrument)).toEqual(['SOL']);
    expect(config.source).toBe('QMT_CONFIG_FILE (/etc/qmt.json)');
  });

  it('needs no document where a function asks for no instruments', () => {
    const config = loadRuntimeConfig({ QMT_SWEEP_QUEUE_URL: QUEUE }, { require: ['sweepQueueUrl'] });
    expect(config.instruments).toEqual([]);
    expect(config.source).toBe('none');
  });

  it.each([
    [
      'a policy confidence out of range',
      { instruments: { BTC: { policy: { confidence: 1.5 } } } },
      'instruments.BTC.policy.confidence',
    ],
    [
      'a bad default policy, named as such',
      { instruments: { BTC: {} }, defaultPolicy: { marginPeriodOfRiskDays: 0 } },
      'defaultPolicy.marginPeriodOfRiskDays',
    ],
    ['an instrument key that is no qmt symbol', { instruments: { btc: {} } }, 'instruments.btc'],
    ['an instrument the catalogue does not know', { instruments: { DOGE: {} } }, 'instruments.DOGE'],
    [
      'an instrument on none of the configured venues',
      { instruments: { SOL: {} }, catalogue: { SOL: { deribit: null, binance: null, coinbase: null } } },
      'instruments.SOL',
    ],
    ['no instruments at all', { instruments: {} }, 'instruments'],
    ['an unknown field in an instrument entry', { instruments: { BTC: { polcy: {} } } }, 'instruments.BTC'],
    ['an unknown top-level field', { instruments: { BTC: {} }, sweeps: {} }, '(document)'],
    ['an unknown venue', { instruments: { BTC: {} }, venues: ['ftx'] }, 'venues.0'],
    [
      'a bad catalogue entry, under catalogue',
      { instruments: { BTC: {} }, catalogue: { BTC: { binance: { symbol: '' } } } },
      'catalogue.BTC.binance.symbol',
    ],
    [
      'a quorum above the venue count',
      { instruments: { BTC: {} }, venues: ['binance'], consensus: { quorum: 2 } },
      'consensus.quorum',
    ],
    ['a non-integer page size', { instruments: { BTC: {} }, sweep: { pageSize: 2.5 } }, 'sweep.pageSize'],
    ['levels out of order', { instruments: { BTC: {} }, levels: { marginCall: 1.5 } }, 'levels'],
    [
      'a valuation grid with no price steps',
      { instruments: { BTC: {} }, valuation: { grid: { method: 'deribit', priceRangeSteps: 0 } } },
      'valuation.grid.priceRangeSteps',
    ],
    [
      'a correlation above 1',
      { instruments: { BTC: {} }, valuation: { correlations: [{ a: 'BTC', b: 'ETH', rho: 1.5 }] } },
      'valuation.correlations.0.rho',
    ],
    [
      'a valuation policy that is not an object',
      { instruments: { BTC: {} }, valuation: 'span' },
      'valuation',
    ],
  ])('rejects %s, naming %s', (_what, document, path) => {
    const error = configError(() => loadRuntimeConfig(envWith(document), { require: ['instruments'] }));
    expect(error.path).toBe(path);
    expect(error.message).toMatch(/^invalid configuration in QMT_CONFIG: /);
    expect(error.message).toContain(path);
    // Callers that branch on bad configuration in general still catch it.
    expect(error).toBeInstanceOf(PolicyError);
  });

  it('reads the valuation policy (grid, correlations) when the document sets one, else leaves the default', () => {
    const config = loadRuntimeConfig(
      envWith({
        instruments: { BTC: {} },
        valuation: {
          grid: { method: 'span', extremeCover: 0.5 },
          correlations: [{ a: 'BTC', b: 'ETH', rho: 0.8 }],
        },
      }),
    );
    expect(config.valuation?.grid).toEqual({
      method: 'span',
      volScanRange: 0.25,
      extremeMultiple: 3,
      extremeCover: 0.5,
    });
    expect(config.valuation?.correlations).toEqual([{ a: 'BTC', b: 'ETH', rho: 0.8 }]);
    expect(loadRuntimeConfig(envWith({ instruments: { BTC: {} } })).valuation).toBeUndefined();
  });

  it('turns instrument discovery on only when the document enables it, and names a bad filter field', () => {
    expect(loadRuntimeConfig(envWith({ instruments: { BTC: {} } })).discovery).toBeUndefined();
    expect(
      loadRuntimeConfig(envWith({ instruments: { BTC: {} }, discovery: { filter: { quotes: ['USD'] } } }))
        .discovery,
    ).toBeUndefined();
    const on = loadRuntimeConfig(
      envWith({
        instruments: { BTC: {} },
        defaultPolicy: { confidence: 0.995 },
        discovery: { enabled: true, filter: { quotes: ['USD', 'USDT'], deny: ['LUNA'] } },
      }),
    );
    expect(on.discovery?.filter).toEqual({
      quotes: ['USD', 'USDT'],
      kinds: ['perpetual'],
      deny: ['LUNA'],
      venues: ['deribit', 'binance', 'coinbase', 'kraken'],
    });
    expect(on.discovery?.defaultPolicy.confidence).toBe(0.995);
    const error = configError(() =>
      loadRuntimeConfig(
        envWith({
          instruments: { BTC: {} },
          discovery: { enabled: true, filter: { quotes: ['USD'], kinds: ['swap'] } },
        }),
      ),
    );
    expect(error.path).toBe('discovery.filter.kinds.0');
    expect(error.message).toMatch(/^invalid configuration in QMT_CONFIG: discovery\.filter\.kinds\.0: /);
    const stray = configError(() =>
      loadRuntimeConfig(envWith({ instruments: { BTC: {} }, discovery: { enabled: 'yes', filter: {} } })),
    );
    expect(stray.path).toBe('discovery.enabled');
  });

  it.each([
    ['the consensus default with three venues', {}, 2],
    ['consensus.quorum', { consensus: { quorum: 3 } }, 3],
    ['one configured venue', { venues: ['binance'] }, 1],
    [
      'a discovery reading one venue’s list',
      { discovery: { enabled: true, filter: { quotes: ['USD'], venues: ['binance'] } } },
      1,
    ],
  ])('takes the venues a discovered listing needs from %s', (_from, extra, quorum) => {
    const config = loadRuntimeConfig(
      envWith({
        instruments: { BTC: {} },
        discovery: { enabled: true, filter: { quotes: ['USD'] } },
        ...extra,
      }),
    );
    expect(config.discovery?.quorum).toBe(quorum);
  });

  it('names the field and the reason for a bad policy value', () => {
    const error = configError(() =>
      loadRuntimeConfig(envWith({ instruments: { BTC: { policy: { confidence: 1.5 } } } })),
    );
    expect(error.message).toContain('instruments.BTC.policy.confidence: Too big');
  });

  it.each([
    ['recalibrate', ['opsTopicArn', 'instruments'], { QMT_OPS_TOPIC_ARN: '' }, 'QMT_OPS_TOPIC_ARN'],
    [
      'the sweep worker',
      ['alertsTopicArn', 'opsTopicArn', 'sweepQueueUrl'],
      { QMT_ALERTS_TOPIC_ARN: '' },
      'QMT_ALERTS_TOPIC_ARN',
    ],
    ['the sweep coordinator', ['sweepQueueUrl'], { QMT_SWEEP_QUEUE_URL: '' }, 'QMT_SWEEP_QUEUE_URL'],
    ['recalibrate, without a document', ['instruments'], { QMT_CONFIG: '' }, 'QMT_CONFIG'],
  ] as const)('fails for %s when %s is missing', (_fn, require, unset, variable) => {
    const env = { ...envWith({ instruments: { BTC: {} } }), ...unset };
    const error = configError(() => loadRuntimeConfig(env, { require }));
    expect(error.path).toBe(variable);
    expect(error.message).toContain(`${variable} is required by this function`);
  });

  it.each([
    ['QMT_OPS_TOPIC_ARN', { QMT_OPS_TOPIC_ARN: 'qmt-ops' }],
    ['QMT_ALERTS_TOPIC_ARN', { QMT_ALERTS_TOPIC_ARN: 'arn:aws:sqs:eu-west-1:123456789012:qmt-alerts' }],
    ['QMT_SWEEP_QUEUE_URL', { QMT_SWEEP_QUEUE_URL: 'not a url' }],
    ['QMT_SWEEP_QUEUE_URL', { QMT_SWEEP_QUEUE_URL: `${QUEUE}.fifo` }],
    ['QMT_SWEEP_WORKER_FUNCTION', { QMT_SWEEP_WORKER_FUNCTION: 'qmt sweep worker' }],
    ['QMT_SWEEP_WORKER_FUNCTION', { QMT_SWEEP_WORKER_FUNCTION: 'qmt-sweep-worker:live' }],
    ['QMT_THRESHOLDS_TABLE', { QMT_THRESHOLDS_TABLE: 'no spaces allowed' }],
    ['QMT_CONFIG', { QMT_CONFIG: '{"instruments": ' }],
    ['QMT_CONFIG_FILE', { QMT_CONFIG_FILE: '/etc/qmt.json' }],
  ])('rejects a malformed %s', (variable, override) => {
    const error = configError(() =>
      loadRuntimeConfig({ ...envWith({ instruments: { BTC: {} } }), ...override }),
    );
    expect(error.path).toBe(variable);
  });

  it('reads the sweep worker to invoke, by name or unqualified ARN, and none when unset', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:qmt-sweep-worker';
    expect(loadRuntimeConfig({ QMT_SWEEP_WORKER_FUNCTION: 'qmt-sweep-worker' }).sweepWorkerFunction).toBe(
      'qmt-sweep-worker',
    );
    expect(loadRuntimeConfig({ QMT_SWEEP_WORKER_FUNCTION: arn }).sweepWorkerFunction).toBe(arn);
    expect(loadRuntimeConfig({}).sweepWorkerFunction).toBeUndefined();
  });

  it('accepts a table ARN (an accounts table in the exchange’s own AWS account)', () => {
    const arn = 'arn:aws:dynamodb:eu-west-1:210987654321:table/accounts';
    expect(loadRuntimeConfig({ QMT_ACCOUNTS_TABLE: arn }).tables.accounts).toBe(arn);
  });

  it('reports a file it cannot read by its path', () => {
    const error = configError(() =>
      loadRuntimeConfig(
        { QMT_CONFIG_FILE: '/missing.json' },
        {
          readFile: () => {
            throw new Error('ENOENT: no such file');
          },
        },
      ),
    );
    expect(error.path).toBe('QMT_CONFIG_FILE');
    expect(error.message).toContain('/missing.json');
  });
});

describe('mergePolicyDocuments', () => {
  it('merges objects field by field and replaces arrays, scalars and null', () => {
    expect(
      mergePolicyDocuments(
        {
          stress: { coveredShare: 0.3, scenarios: [{ name: 'a' }] },
          antiProcyclicality: { longLookbackFloor: {} },
        },
        { stress: { scenarios: [] }, antiProcyclicality: { longLookbackFloor: null, buffer: 0.25 } },
      ),
    ).toEqual({
      stress: { coveredShare: 0.3, scenarios: [] },
      antiProcyclicality: { longLookbackFloor: null, buffer: 0.25 },
    });
  });
});
