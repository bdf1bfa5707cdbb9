// The deployed functions read their configuration from AppConfig (lambdas/shared/live-config.ts over
// lib/adapters/appconfig/config-document-source.ts): cached for a minute, re-parsed when AppConfig hands over
// a new document, and a refused document or an unreachable AppConfig leaves a function on its last good
// configuration, or, with none yet, fails the invocation before the handler runs.
import {
  AppConfigDataClient,
  GetLatestConfigurationCommand,
  type GetLatestConfigurationCommandOutput,
  StartConfigurationSessionCommand,
} from '@aws-sdk/client-appconfigdata';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConfiguredHandlerOptions, withLiveConfig } from '../../lambdas/shared/live-config.ts';
import {
  AppConfigDocumentSource,
  CONFIG_MAX_AGE_SECONDS,
} from '../../lib/adapters/appconfig/config-document-source.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import { lambdaContext, lambdaEnv } from './support.ts';

const appConfig = mockClient(AppConfigDataClient);
const LOCATION = { application: 'app1', environment: 'env1', profile: 'prof1' };
const APPCONFIG_ENV = lambdaEnv({
  QMT_CONFIG: undefined,
  QMT_APPCONFIG_APPLICATION: LOCATION.application,
  QMT_APPCONFIG_ENVIRONMENT: LOCATION.environment,
  QMT_APPCONFIG_PROFILE: LOCATION.profile,
});

// The SDK types the body as its blob adapter; on the wire (and to Powertools) it is the bytes.
const bytes = (document: unknown) =>
  new TextEncoder().encode(
    JSON.stringify(document),
  ) as unknown as GetLatestConfigurationCommandOutput['Configuration'];
const GOOD = { instruments: { BTC: {}, ETH: {} } };
const CHANGED = { instruments: { BTC: { policy: { confidence: 0.995 } }, SOL: {} } };
// Passes AppConfig's JSON Schema (a symbol is a string), refused by the functions' parse.
const NOT_IN_CATALOGUE = { instruments: { NOPE: {} } };

/** AppConfig serving `documents` in turn, one per GetLatestConfiguration (an empty body: unchanged). */
function serve(...documents: (unknown | Error)[]): void {
  appConfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'token-0' });
  let call = appConfig.on(GetLatestConfigurationCommand);
  for (const [index, document] of documents.entries()) {
    call =
      document instanceof Error
        ? call.rejectsOnce(document)
        : call.resolvesOnce({
            Configuration: bytes(document),
            NextPollConfigurationToken: `token-${index + 1}`,
          });
  }
}

/** A handler that does what a real one does with its configuration: writes down the instruments it runs on. */
function recordingFactory() {
  const ran: string[][] = [];
  const builds: ConfiguredHandlerOptions[] = [];
  const create = (options: ConfiguredHandlerOptions) => {
    builds.push(options);
    const config = loadRuntimeConfig(options.env, {
      require: ['instruments'],
      ...(options.document && { document: options.document }),
    });
    return async () => {
      const instruments = config.instruments.map((entry) => `${entry.instrument}@${entry.policy.confidence}`);
      ran.push(instruments);
      return instruments;
    };
  };
  return { create, ran, builds };
}

function source(maxAgeSeconds = CONFIG_MAX_AGE_SECONDS) {
  return new AppConfigDocumentSource({
    location: LOCATION,
    maxAgeSeconds,
    client: new AppConfigDataClient({ region: 'eu-west-1' }),
  });
}

describe('withLiveConfig: the configuration from AppConfig', () => {
  // Powertools' cache reads the clock through both Date.now() and new Date(): fake Date only.
  const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
  beforeEach(() => {
    appConfig.reset();
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-12-03T00:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('reads the document from the AppConfig location the environment names, once per minute', async () => {
    serve(GOOD, CHANGED);
    const { create, ran } = recordingFactory();
    const handler = withLiveConfig(create, { env: APPCONFIG_ENV, logger: { error: vi.fn() } });

    await handler({}, lambdaContext());
    advance(30_000);
    await handler({}, lambdaContext());
    expect(appConfig).toHaveReceivedCommandTimes(StartConfigurationSessionCommand, 1);
    expect(appConfig).toHaveReceivedCommandWith(StartConfigurationSessionCommand, {
      ApplicationIdentifier: 'app1',
      EnvironmentIdentifier: 'env1',
      ConfigurationProfileIdentifier: 'prof1',
    });
    expect(appConfig).toHaveReceivedCommandTimes(GetLatestConfigurationCommand, 1);

    advance(CONFIG_MAX_AGE_SECONDS * 1000);
    await handler({}, lambdaContext());
    expect(appConfig).toHaveReceivedCommandTimes(GetLatestConfigurationCommand, 2);
    expect(appConfig).toHaveReceivedCommandWith(GetLatestConfigurationCommand, {
      ConfigurationToken: 'token-1',
    });
    expect(ran).toEqual([
      ['BTC@0.99', 'ETH@0.99'],
      ['BTC@0.99', 'ETH@0.99'],
      ['BTC@0.995', 'SOL@0.99'],
    ]);
  });

  it('keeps an unchanged document’s handler: AppConfig’s empty body means the same configuration', async () => {
    serve(GOOD);
    appConfig.on(GetLatestConfigurationCommand).resolves({ NextPollConfigurationToken: 'token-n' });
    const { create, builds } = recordingFactory();
    const handler = withLiveConfig(create, {
      source: source(0),
      env: APPCONFIG_ENV,
      logger: { error: vi.fn() },
    });
    serve(GOOD);
    await handler({}, lambdaContext());
    advance(1_000);
    await handler({}, lambdaContext());
    expect(builds).toHaveLength(1);
  });

  it('refuses a document its parse refuses and stays on the last good one, logging the path once', async () => {
    serve(GOOD, NOT_IN_CATALOGUE, NOT_IN_CATALOGUE, CHANGED);
    const { create, ran } = recordingFactory();
    const error = vi.fn();
    const handler = withLiveConfig(create, { source: source(0), env: APPCONFIG_ENV, logger: { error } });

    for (let i = 0; i < 4; i += 1) {
      advance(1_000);
      await handler({}, lambdaContext());
    }
    expect(ran).toEqual([
      ['BTC@0.99', 'ETH@0.99'],
      ['BTC@0.99', 'ETH@0.99'],
      ['BTC@0.99', 'ETH@0.99'],
      ['BTC@0.995', 'SOL@0.99'],
    ]);
    expect(error).toHaveBeenCalledTimes(1);
    expect(error).toHaveBeenCalledWith(
      'AppConfig app1/env1/prof1: configuration refused; running on the last good configuration',
      expect.objectContaining({
        path: 'instruments.NOPE',
        reason: expect.stringMatching(
          /invalid configuration in AppConfig app1\/env1\/prof1: instruments\.NOPE: not in the instrument catalogue/,
        ),
      }),
    );
  });

  it('fails the invocation before the handler runs when its first document is refused: nothing is written', async () => {
    serve(NOT_IN_CATALOGUE);
    const { create, ran } = recordingFactory();
    const handler = withLiveConfig(create, {
      source: source(),
      env: APPCONFIG_ENV,
      logger: { error: vi.fn() },
    });
    await expect(handler({}, lambdaContext())).rejects.toMatchObject({
      name: 'ConfigError',
      path: 'instruments.NOPE',
    });
    expect(ran).toEqual([]);
  });

  it('runs on the last good configuration while AppConfig cannot be reached, and fails clearly with none', async () => {
    serve(new Error('connect ETIMEDOUT'), GOOD, new Error('connect ETIMEDOUT'));
    const { create, ran } = recordingFactory();
    const error = vi.fn();
    const handler = withLiveConfig(create, { source: source(0), env: APPCONFIG_ENV, logger: { error } });

    const first = handler({}, lambdaContext());
    await expect(first).rejects.toBeInstanceOf(ConfigError);
    await expect(first).rejects.toThrow(
      /AppConfig app1\/env1\/prof1: cannot read the configuration: .*ETIMEDOUT/,
    );
    expect(ran).toEqual([]);

    advance(1_000);
    await handler({}, lambdaContext());
    advance(1_000);
    await handler({}, lambdaContext());
    expect(ran).toEqual([
      ['BTC@0.99', 'ETH@0.99'],
      ['BTC@0.99', 'ETH@0.99'],
    ]);
    expect(error).toHaveBeenCalledWith(
      'AppConfig app1/env1/prof1 cannot be read; running on the last good configuration',
      expect.objectContaining({ reason: expect.stringMatching(/ETIMEDOUT/) }),
    );
  });

  it('builds the handler once from QMT_CONFIG when the environment names no AppConfig location (local runs)', async () => {
    const { create, ran, builds } = recordingFactory();
    const handler = withLiveConfig(create, { env: lambdaEnv() });
    expect(builds).toHaveLength(1);
    await handler({}, lambdaContext());
    expect(ran).toEqual([['BTC@0.99', 'ETH@0.99']]);
    expect(appConfig).not.toHaveReceivedAnyCommand();
  });

  it('refuses half an AppConfig location, or one beside QMT_CONFIG, naming the variable', () => {
    const { create } = recordingFactory();
    expect(() =>
      withLiveConfig(create, { env: { ...APPCONFIG_ENV, QMT_APPCONFIG_PROFILE: undefined } }),
    ).toThrow(expect.objectContaining({ name: 'ConfigError', path: 'QMT_APPCONFIG_PROFILE' }));
    expect(() => withLiveConfig(create, { env: { ...APPCONFIG_ENV, QMT_CONFIG: '{}' } })).toThrow(
      expect.objectContaining({ name: 'ConfigError', path: 'QMT_CONFIG' }),
    );
  });
});
