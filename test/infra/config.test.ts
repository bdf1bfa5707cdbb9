import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  type EnvironmentConfigInput,
  loadEnvironmentConfig,
  parseEnvironmentConfig,
} from '../../infra/config/environment.ts';
import { tempDir } from '../temp-dirs.ts';

/** The error `parse` throws (a test fails if it throws none, or something else). */
function configError(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const base: EnvironmentConfigInput = { qmt: { instruments: { BTC: {} } } };
const withValue = (extra: Record<string, unknown>) => ({ ...base, ...extra }) as EnvironmentConfigInput;

describe('environment configuration', { timeout: 60_000 }, () => {
  it('loads the environments that ship with the repository', () => {
    // Act
    const dev = loadEnvironmentConfig('dev');
    const prod = loadEnvironmentConfig('prod');

    // Assess
    expect(dev).toMatchObject({
      name: 'dev',
      stackName: 'qmt-dev',
      namePrefix: 'qmt-dev',
      removalPolicy: 'destroy',
    });
    expect(dev.deletionProtection).toBe(false);
    expect(prod).toMatchObject({ removalPolicy: 'retain', deletionProtection: true });
    expect(prod.accountsTable).toEqual({ mode: 'import', tableName: 'exchange-accounts' });
  });

  it('fills in the defaults: daily recalibration at 00:05 UTC, a sweep every 5 minutes, data retained', () => {
    // Act
    const config = parseEnvironmentConfig('staging', base);

    // Assess
    expect(config.schedules).toEqual({
      timeZone: 'UTC',
      recalibration: 'cron(5 0 * * ? *)',
      sweep: 'rate(5 minutes)',
      stress: 'cron(5 1 * * ? *)',
      enabled: true,
    });
    expect(config).toMatchObject({
      stackName: 'qmt-staging',
      namePrefix: 'qmt-staging',
      accountsTable: { mode: 'create' },
      fifoAlerts: false,
      removalPolicy: 'retain',
      deletionProtection: true,
      logRetentionDays: 90,
      tracing: false,
      maxThresholdAgeHours: 26,
      sweep: { workerTimeoutSeconds: 300, workerConcurrency: 100, maxReceiveCount: 5 },
      subscriptions: { alerts: [], ops: [] },
    });
  });

  it.each([
    [{ schedules: { timeZone: 'Mars/Olympus_Mons' } }, 'schedules.timeZone', 'not an IANA time zone'],
    [{ schedules: { recalibration: '0 5 * * *' } }, 'schedules.recalibration', 'Scheduler'],
    [{ schedules: { sweep: 'rate(1 minutes)' } }, 'schedules.sweep', 'rate(1 minute)'],
    [{ alarmEmail: 'ops-at-example' }, 'alarmEmail', 'email'],
    [
      { subscriptions: { alerts: [{ protocol: 'email', endpoint: 'not an address' }] } },
      'subscriptions.alerts[0].endpoint',
      'email',
    ],
    [
      { subscriptions: { alerts: [{ protocol: 'https', endpoint: 'http://hooks.example.com/qmt' }] } },
      'subscriptions.alerts[0].endpoint',
      'https://',
    ],
    [
      { subscriptions: { alerts: [{ protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123:q' }] } },
      'subscriptions.alerts[0].endpoint',
      'SQS queue ARN',
    ],
    [
      {
        subscriptions: {
          alerts: [
            { protocol: 'email', endpoint: 'risk@example.com', filterPolicy: { severity: ['urgent'] } },
          ],
        },
      },
      'subscriptions.alerts[0].filterPolicy.severity[0]',
      'critical',
    ],
    [
      {
        subscriptions: {
          ops: [{ protocol: 'email', endpoint: 'ops@example.com', filterPolicy: { newState: ['OK'] } }],
        },
      },
      'subscriptions.ops[0].filterPolicy',
      'newState',
    ],
    [
      {
        subscriptions: {
          alerts: [{ protocol: 'email', endpoint: 'risk@example.com', rawMessageDelivery: true }],
        },
      },
      'subscriptions.alerts[0]',
      'rawMessageDelivery',
    ],
    [{ accountsTable: { mode: 'import' } }, 'accountsTable.tableName', ''],
    [{ logRetentionDays: 42 }, 'logRetentionDays', 'retention periods'],
    [{ sweep: { workerConcurrency: 1 } }, 'sweep.workerConcurrency', '2'],
    [{ maxThresholdAgeHours: 200 }, 'maxThresholdAgeHours', '168'],
    [{ account: '1234' }, 'account', '12-digit'],
    [{ namePrefix: 'qmt.prod' }, 'namePrefix', 'letters, digits'],
    [{ retention: 'forever' }, '(document)', 'retention'],
    [
      {
        fifoAlerts: true,
        subscriptions: { alerts: [{ protocol: 'email', endpoint: 'risk@example.com' }] },
      },
      'subscriptions.alerts[0].protocol',
      'FIFO',
    ],
  ])('rejects %j, naming %s', (extra, path, reason) => {
    // Act
    const error = configError(() =>
      parseEnvironmentConfig('test', withValue(extra), 'infra/config/test.json'),
    );

    // Assess
    expect(error.path).toBe(`infra/config/test.json: ${path}`);
    expect(error.message).toContain(`infra/config/test.json: ${path}`);
    expect(error.message).toContain(reason);
  });

  it('checks the functions’ document as the functions will read it: policies, instruments, catalogue', () => {
    // Act
    const badPolicy = configError(() =>
      parseEnvironmentConfig('test', { qmt: { instruments: { BTC: { policy: { confidence: 1.5 } } } } }),
    );
    const unknownInstrument = configError(() =>
      parseEnvironmentConfig('test', { qmt: { instruments: { DOGE: {} } } }),
    );
    const noInstruments = configError(() => parseEnvironmentConfig('test', { qmt: { instruments: {} } }));

    // Assess
    expect(badPolicy.path).toBe('test.json: qmt.instruments.BTC.policy.confidence');
    expect(badPolicy.message).toMatch(/confidence/);
    expect(unknownInstrument.path).toBe('test.json: qmt.instruments.DOGE');
    expect(unknownInstrument.message).toContain('not in the instrument catalogue');
    expect(noInstruments.path).toBe('test.json: qmt.instruments');
  });

  it('accepts catalogue additions for new instruments', () => {
    // Act
    const config = parseEnvironmentConfig('test', {
      qmt: { instruments: { DOGE: {} }, catalogue: { DOGE: { binance: { symbol: 'DOGEUSDT' } } } },
    });

    // Assess
    expect(Object.keys(config.qmt.instruments)).toEqual(['DOGE']);
  });

  it('lists every bad value at once', () => {
    // Act
    const error = configError(() =>
      parseEnvironmentConfig('test', {
        qmt: { instruments: { BTC: { policy: { confidence: 2 } } } },
        logRetentionDays: 2,
        schedules: { timeZone: 'Nowhere' },
      }),
    );

    // Assess
    expect(error.message.split('\n').slice(1)).toEqual([
      '  test.json: schedules.timeZone: not an IANA time zone (e.g. UTC, Europe/London, Asia/Singapore)',
      expect.stringMatching(/^ {2}test\.json: logRetentionDays: one of CloudWatch Logs' retention periods/),
      '  test.json: qmt.instruments.BTC.policy.confidence: Too big: expected number to be <1',
    ]);
  });

  it('names a missing or malformed file and a bad environment name', () => {
    // Prepare
    const dir = tempDir('qmt-config-');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "qmt": ');

    // Act
    const missing = configError(() => loadEnvironmentConfig('nowhere'));
    const malformed = configError(() => loadEnvironmentConfig('test', { file: broken }));
    const badName = configError(() => parseEnvironmentConfig('Prod!', base));

    // Assess
    expect(missing.message).toMatch(
      /no configuration for environment "nowhere": cannot read .*nowhere\.json/,
    );
    expect(malformed.message).toMatch(/broken\.json: not valid JSON/);
    expect(badName.path).toBe('env');
  });
});
