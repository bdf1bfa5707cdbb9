/**
 * The runtime configuration of qmt's functions (and local runs): AWS resource names from the environment,
 * and the configuration document (instruments, their threshold policies, the venue catalogue, sweep sizing)
 * from AppConfig in the deployed stack (the environment names it: `appConfigLocation`), or locally from
 * `QMT_CONFIG` (JSON) or `QMT_CONFIG_FILE` (a path to the same JSON). Everything is validated once,
 * when a function's container starts, so a bad value stops the deployment's first invocation with an error
 * naming the field instead of surfacing halfway through a run.
 *
 * The document:
 * ```json
 * {
 *   "instruments": { "BTC": { "policy": { "confidence": 0.995 } }, "ETH": {} },
 *   "defaultPolicy": { "marginPeriodOfRiskDays": 2 },
 *   "catalogue": { "DOGE": { "binance": { "symbol": "DOGEUSDT" } } },
 *   "venues": ["deribit", "binance", "coinbase"],
 *   "consensus": { "tolerance": 0.02, "quorum": 2 },
 *   "marks": { "live": true, "venues": ["deribit", "binance", "coinbase", "kraken"] },
 *   "sweep": { "accountsPerSegment": 100000, "maxSegments": 1000, "pageSize": 500 },
 *   "levels": { "warning": 1.2, "marginCall": 1, "liquidation": 0.8, "hysteresis": 0.05 },
 *   "valuation": { "grid": { "method": "span" }, "correlations": [{ "a": "BTC", "b": "ETH", "rho": 0.8 }] }
 * }
 * ```
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { withoutReservedKeys } from '../domain/document-keys.ts';
import { PolicyError } from '../domain/errors.ts';
import {
  type CatalogueFilter,
  DEFAULT_LISTING_QUORUM,
  parseCatalogueFilter,
} from '../domain/market/instrument-catalogue.ts';
import { type CascadePolicy, parseCascadePolicy } from '../domain/stress/policy.ts';
import {
  type InstrumentPolicy,
  parseThresholdPolicy,
  type ThresholdPolicy,
} from '../domain/threshold/policy.ts';
import { mergePolicyDocuments } from '../domain/threshold/policy-book.ts';
import { parseValuationPolicy, type ValuationPolicy } from '../domain/valuation/policy.ts';
import { ConfigError } from './errors.ts';
import {
  CATALOGUE_VENUES,
  type CatalogueVenue,
  DEFAULT_CONSENSUS_VENUES,
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  knownInstruments,
  mergeInstrumentCatalogue,
} from './instruments.ts';
import { TABLE_NAME_ENV, type TableId, type TableNames, tableNamesFromEnv } from './tables.ts';

/** The environment variables the functions read (table names: `TABLE_NAME_ENV` and `QMT_TABLE_PREFIX`). */
export const RUNTIME_ENV = {
  config: 'QMT_CONFIG',
  configFile: 'QMT_CONFIG_FILE',
  alertsTopicArn: 'QMT_ALERTS_TOPIC_ARN',
  opsTopicArn: 'QMT_OPS_TOPIC_ARN',
  sweepQueueUrl: 'QMT_SWEEP_QUEUE_URL',
  /** The sweep worker the market watch invokes directly with a crash minute's segments (name or ARN). */
  sweepWorkerFunction: 'QMT_SWEEP_WORKER_FUNCTION',
  /** The deployed functions read the document from AppConfig: these three ids name it (all or none). */
  appConfigApplication: 'QMT_APPCONFIG_APPLICATION',
  appConfigEnvironment: 'QMT_APPCONFIG_ENVIRONMENT',
  appConfigProfile: 'QMT_APPCONFIG_PROFILE',
} as const;

/** Where a deployed function reads its configuration document: AppConfig's application, environment, profile. */
export interface AppConfigLocation {
  readonly application: string;
  readonly environment: string;
  readonly profile: string;
}

/**
 * The AppConfig location the environment names, or undefined when it names none (local runs and tests, which
 * give the document in `QMT_CONFIG` or `QMT_CONFIG_FILE`). Half a location, or a location beside an inline
 * document, is a `ConfigError`: the function would not know which to believe.
 */
export function appConfigLocation(env: Environment = process.env): AppConfigLocation | undefined {
  const names = {
    application: nonEmpty(env[RUNTIME_ENV.appConfigApplication]),
    environment: nonEmpty(env[RUNTIME_ENV.appConfigEnvironment]),
    profile: nonEmpty(env[RUNTIME_ENV.appConfigProfile]),
  };
  const variables = {
    application: RUNTIME_ENV.appConfigApplication,
    environment: RUNTIME_ENV.appConfigEnvironment,
    profile: RUNTIME_ENV.appConfigProfile,
  } as const;
  const missingOne = (Object.keys(names) as (keyof typeof names)[]).find((key) => names[key] === undefined);
  if (missingOne === undefined) {
    for (const variable of [RUNTIME_ENV.config, RUNTIME_ENV.configFile]) {
      if (nonEmpty(env[variable]) !== undefined) {
        throw new ConfigError(
          `${variable} is set beside the AppConfig location (${RUNTIME_ENV.appConfigProfile}…): give the document in one place`,
          variable,
        );
      }
    }
    return names as AppConfigLocation;
  }
  if (Object.values(names).every((name) => name === undefined)) return undefined;
  throw new ConfigError(
    `${variables[missingOne]} is not set, but other AppConfig names are: set all three (${Object.values(variables).join(', ')}) or none`,
    variables[missingOne],
  );
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The margin-ratio levels a sweep moves accounts between. */
export type MarginLevels = ThresholdPolicy['levels'];

export interface SweepSettings {
  /** @default planSweep's default (100,000) */
  readonly accountsPerSegment?: number;
  /** @default planSweep's default (1,000) */
  readonly maxSegments?: number;
  /** Scan Limit per page; a worker checkpoints after every page. @default the sweep use case's default */
  readonly pageSize?: number;
  /** When the market watch fans a crash minute out to the workers (`lib/app/targeted-fan-out.ts`). */
  readonly targeted?: {
    readonly inlineAccounts?: number;
    readonly accountsPerSegment?: number;
    readonly maxIdBytes?: number;
    readonly maxAgeMs?: number;
  };
}

/** The daily backtest after each recalibration (EMIR Art. 49). */
export interface BacktestSettings {
  /** Run it after every published set. @default true */
  readonly enabled: boolean;
  /** Scored days per instrument. @default 250 (the Basel window) */
  readonly scoredDays: number;
}

export const DEFAULT_BACKTEST_SETTINGS: BacktestSettings = { enabled: true, scoredDays: 250 };

export interface ConsensusSettings {
  readonly tolerance?: number;
  readonly quorum?: number;
}

/** Where sweeps and the market watch take their marks. */
export interface MarkSettings {
  /**
   * Ask the venues for live marks (a consensus per instrument). Off, marks are each threshold's reference
   * close: what local runs and tests use, since they have no network. The stack switches it on.
   */
  readonly live: boolean;
  /** The venues asked for live marks. @default all four venues with a current-price adapter */
  readonly venues: readonly CatalogueVenue[];
}

export interface RuntimeConfig {
  readonly tables: TableNames;
  readonly alertsTopicArn?: string;
  readonly opsTopicArn?: string;
  readonly sweepQueueUrl?: string;
  /** The sweep worker to invoke directly with a crash minute's segments; absent: they are queued. */
  readonly sweepWorkerFunction?: string;
  /** Every configured instrument with its validated policy (defaultPolicy merged under its own), in document order. */
  readonly instruments: readonly InstrumentPolicy[];
  /** The default catalogue with the document's `catalogue` merged over it. */
  readonly catalogue: InstrumentCatalogue;
  readonly venues: readonly CatalogueVenue[];
  readonly consensus: ConsensusSettings;
  readonly marks: MarkSettings;
  readonly sweep: SweepSettings;
  readonly backtest: BacktestSettings;
  /** Set when the document sets `stress` (the daily stress run needs it). */
  readonly stress?: StressSettings;
  /** Set when the document sets `levels` (or `defaultPolicy.levels`); otherwise the sweep's own default applies. */
  readonly levels?: MarginLevels;
  /** Set when the document sets `valuation` (grid, correlations…); otherwise the documented defaults apply. */
  readonly valuation?: ValuationPolicy;
  /**
   * Set when the document's `discovery.enabled` is true: the recalibration then takes its instruments from the
   * venues' lists, filtered; an instrument `instruments` does not name gets `defaultPolicy`.
   */
  readonly discovery?: {
    readonly filter: CatalogueFilter;
    readonly defaultPolicy: ThresholdPolicy;
    /**
     * Venues that must list an instrument before it is valued: `consensus.quorum`, else 2 (1 when only one
     * configured venue's list is read).
     */
    readonly quorum: number;
    /** The venues whose candles are read: `venues`. */
    readonly pricedBy: readonly CatalogueVenue[];
  };
  /** Where the document came from, for logs: `QMT_CONFIG`, `QMT_CONFIG_FILE (<path>)` or `none`. */
  readonly source: string;
}

/** The daily stress run's settings. */
export interface StressSettings {
  /** Relative move per shocked symbol (-0.3 is a 30% fall). */
  readonly shocks: Readonly<Record<string, number>>;
  /** Quote currency: bad debt above it raises the alarm. */
  readonly insuranceFund: number;
  /** Scan segments of the accounts table. @default 8 */
  readonly segments: number;
  readonly cascade: CascadePolicy;
}

/** Reference closes unless the document asks for live marks; every venue when it does. */
export const DEFAULT_MARK_SETTINGS: MarkSettings = { live: false, venues: CATALOGUE_VENUES };

/** What a function cannot run without; `loadRuntimeConfig` fails at start when one is missing. */
export type RuntimeRequirement = 'alertsTopicArn' | 'opsTopicArn' | 'sweepQueueUrl' | 'instruments';

/** The configuration with the required resource names typed as present. */
export type RuntimeConfigWith<R extends RuntimeRequirement> = RuntimeConfig & {
  readonly [K in Exclude<R, 'instruments'>]-?: string;
};

export interface LoadRuntimeConfigOptions<R extends RuntimeRequirement> {
  /** Settings this function needs; a missing one is a `ConfigError` naming its variable. */
  readonly require?: readonly R[];
  /** Reads `QMT_CONFIG_FILE` (tests). @default fs.readFileSync as UTF-8 */
  readonly readFile?: (path: string) => string;
  /**
   * The document itself, already read (from AppConfig: `lambdas/shared/live-config.ts`), with the name errors
   * give it; the environment's `QMT_CONFIG` and `QMT_CONFIG_FILE` are then not read.
   */
  readonly document?: RuntimeDocumentText;
}

/** A configuration document's text and the name errors give it (`AppConfig <application>/<environment>/<profile>`). */
export interface RuntimeDocumentText {
  readonly text: string;
  readonly source: string;
}

const SYMBOL = /^[A-Z0-9][A-Z0-9_.-]*$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const LAMBDA_FUNCTION = /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}$/;
const TABLE_ARN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/;

/** A policy is a JSON object here; its fields are checked by `parseThresholdPolicy`, which names them. */
const policyDocumentSchema = z.record(z.string(), z.unknown());

const instrumentsSchema = z
  .record(z.string(), z.strictObject({ policy: policyDocumentSchema.optional() }))
  .superRefine((instruments, ctx) => {
    const symbols = Object.keys(instruments);
    if (symbols.length === 0) ctx.addIssue({ code: 'custom', message: 'configure at least one instrument' });
    for (const symbol of symbols) {
      if (!SYMBOL.test(symbol)) {
        ctx.addIssue({
          code: 'custom',
          path: [symbol],
          message:
            'an instrument key is a qmt symbol: upper case letters, digits, `_`, `.` or `-` (e.g. BTC)',
        });
      }
    }
  });

const levelsSchema = z.strictObject({
  warning: z.number().gt(1).max(10).optional(),
  marginCall: z.number().positive().optional(),
  liquidation: z.number().positive().optional(),
  hysteresis: z.number().min(0).max(0.5).optional(),
});

/** The configuration document (before policies are resolved). */
export const runtimeDocumentSchema = z.strictObject({
  instruments: instrumentsSchema,
  defaultPolicy: policyDocumentSchema.optional(),
  /** Merged over the default catalogue: see `mergeInstrumentCatalogue`. */
  catalogue: z.unknown().optional(),
  venues: z
    .array(z.enum(CATALOGUE_VENUES))
    .min(1)
    .refine((venues) => new Set(venues).size === venues.length, 'lists a venue twice')
    .optional(),
  consensus: z
    .strictObject({
      tolerance: z.number().gt(0).max(0.5).optional(),
      quorum: z.number().int().min(1).max(CATALOGUE_VENUES.length).optional(),
    })
    .optional(),
  marks: z
    .strictObject({
      live: z.boolean().optional(),
      venues: z
        .array(z.enum(CATALOGUE_VENUES))
        .min(1)
        .refine((venues) => new Set(venues).size === venues.length, 'lists a venue twice')
        .optional(),
    })
    .optional(),
  sweep: z
    .strictObject({
      accountsPerSegment: z.number().int().min(1).optional(),
      maxSegments: z.number().int().min(1).max(1_000_000).optional(),
      pageSize: z.number().int().min(1).max(10_000).optional(),
      targeted: z
        .strictObject({
          inlineAccounts: z.number().int().min(0).optional(),
          accountsPerSegment: z.number().int().min(1).max(10_000).optional(),
          maxIdBytes: z.number().int().min(200).max(200_000).optional(),
          maxAgeMs: z.number().int().min(1_000).max(3_600_000).optional(),
        })
        .optional(),
    })
    .optional(),
  levels: levelsSchema.optional(),
  backtest: z
    .strictObject({
      enabled: z.boolean().optional(),
      scoredDays: z.number().int().min(20).max(2_000).optional(),
    })
    .optional(),
  /** The daily stress run (`lib/app/stress-run.ts`): its shocks, the insurance fund its bad debt is held against. */
  stress: z
    .strictObject({
      shocks: z
        .record(
          z.string().regex(SYMBOL, 'must be an upper-case symbol such as "BTC"'),
          z.number().gt(-1, 'a move must be above -1 (-100%): a price cannot reach zero').lt(10),
        )
        .refine((shocks) => Object.keys(shocks).length > 0, 'give at least one shock, e.g. { "BTC": -0.3 }'),
      insuranceFund: z.number().min(0).max(1e15),
      segments: z.number().int().min(1).max(1000).optional(),
      /** The cascade settings; checked by `parseCascadePolicy`, which names them. */
      cascade: policyDocumentSchema.optional(),
    })
    .optional(),
  /** The valuation policy; its fields are checked by `parseValuationPolicy`, which names them. */
  valuation: policyDocumentSchema.optional(),
  /**
   * Instruments discovered from the venues' lists (off unless `enabled`); `filter` is checked by
   * `parseCatalogueFilter`, which names its fields.
   */
  discovery: z.strictObject({ enabled: z.boolean().optional(), filter: z.unknown() }).optional(),
});

export type RuntimeDocument = z.input<typeof runtimeDocumentSchema>;

/** The document as read: a reserved key anywhere (a map would drop it, a merge would set a prototype) is named. */
const runtimeDocumentReader = withoutReservedKeys(runtimeDocumentSchema);

/**
 * Read and validate the runtime configuration. Call it once per container, at module scope, so a bad value
 * fails the container's start. Throws `ConfigError` whose `path` names the field (an environment variable
 * or a document path such as `instruments.BTC.policy.confidence`).
 *
 * @example
 * const config = loadRuntimeConfig(process.env, { require: ['opsTopicArn', 'instruments'] });
 * config.opsTopicArn; // string
 */
export function loadRuntimeConfig<R extends RuntimeRequirement = never>(
  env: Environment = process.env,
  options: LoadRuntimeConfigOptions<R> = {},
): RuntimeConfigWith<R> {
  const required = new Set<RuntimeRequirement>(options.require ?? []);
  const tables = readTableNames(env);
  const alertsTopicArn = readTopicArn(env, RUNTIME_ENV.alertsTopicArn, required.has('alertsTopicArn'));
  const opsTopicArn = readTopicArn(env, RUNTIME_ENV.opsTopicArn, required.has('opsTopicArn'));
  const sweepQueueUrl = readQueueUrl(env, required.has('sweepQueueUrl'));
  const sweepWorkerFunction = readFunctionName(env);

  const { text, source } =
    options.document ?? readDocumentText(env, options.readFile ?? ((path) => readFileSync(path, 'utf8')));
  if (text === undefined && required.has('instruments')) {
    throw new ConfigError(
      `${RUNTIME_ENV.config} is required by this function: set it to the configuration JSON ` +
        `(or ${RUNTIME_ENV.configFile} to a file holding it)`,
      RUNTIME_ENV.config,
    );
  }
  const document = text === undefined ? undefined : parseDocument(text, source);
  return {
    tables,
    ...(alertsTopicArn === undefined ? {} : { alertsTopicArn }),
    ...(opsTopicArn === undefined ? {} : { opsTopicArn }),
    ...(sweepQueueUrl === undefined ? {} : { sweepQueueUrl }),
    ...(sweepWorkerFunction === undefined ? {} : { sweepWorkerFunction }),
    ...resolveDocument(document, source),
    source,
  } as RuntimeConfigWith<R>;
}

function readTableNames(env: Environment): TableNames {
  const names = tableNamesFromEnv(env);
  for (const [id, name] of Object.entries(names) as [TableId, string][]) {
    if (!TABLE_NAME.test(name) && !TABLE_ARN.test(name)) {
      const variable = TABLE_NAME_ENV[id];
      const from = env[variable] ? variable : 'QMT_TABLE_PREFIX';
      throw new ConfigError(
        `${variable}: "${name}" (from ${from}) is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -) or table ARN`,
        variable,
      );
    }
  }
  return names;
}

function readTopicArn(env: Environment, variable: string, required: boolean): string | undefined {
  const value = nonEmpty(env[variable]);
  if (value === undefined) {
    if (required) throw missing(variable, 'the SNS topic ARN');
    return undefined;
  }
  if (!SNS_TOPIC_ARN.test(value)) {
    throw new ConfigError(
      `${variable}: "${value}" is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)`,
      variable,
    );
  }
  return value;
}

/** A Lambda function name or unqualified ARN (Invoke's FunctionName); optional: without it nothing is invoked. */
function readFunctionName(env: Environment): string | undefined {
  const variable = RUNTIME_ENV.sweepWorkerFunction;
  const value = nonEmpty(env[variable]);
  if (value === undefined) return undefined;
  if (!LAMBDA_FUNCTION.test(value)) {
    throw new ConfigError(
      `${variable}: "${value}" is not a Lambda function name (1-64 of A-Z a-z 0-9 _ -) or unqualified function ARN`,
      variable,
    );
  }
  return value;
}

function readQueueUrl(env: Environment, required: boolean): string | undefined {
  const variable = RUNTIME_ENV.sweepQueueUrl;
  const value = nonEmpty(env[variable]);
  if (value === undefined) {
    if (required) throw missing(variable, 'the sweep queue URL');
    return undefined;
  }
  if (!z.url({ protocol: /^https?$/ }).safeParse(value).success) {
    throw new ConfigError(`${variable}: "${value}" is not an http(s) SQS queue URL`, variable);
  }
  // Segment messages need no ordering, and a FIFO queue would serialise a run's continuations per group.
  if (value.endsWith('.fifo')) {
    throw new ConfigError(`${variable}: the sweep queue must be a standard queue, not FIFO`, variable);
  }
  return value;
}

function missing(variable: string, what: string): ConfigError {
  return new ConfigError(`${variable} is required by this function: set it to ${what}`, variable);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function readDocumentText(
  env: Environment,
  readFile: (path: string) => string,
): { text: string | undefined; source: string } {
  const inline = nonEmpty(env[RUNTIME_ENV.config]);
  const file = nonEmpty(env[RUNTIME_ENV.configFile]);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(
      `set one of ${RUNTIME_ENV.config} and ${RUNTIME_ENV.configFile}, not both`,
      RUNTIME_ENV.configFile,
    );
  }
  if (inline !== undefined) return { text: inline, source: RUNTIME_ENV.config };
  if (file === undefined) return { text: undefined, source: 'none' };
  const source = `${RUNTIME_ENV.configFile} (${file})`;
  try {
    return { text: readFile(file), source };
  } catch (error) {
    throw new ConfigError(`${source}: cannot read the file: ${reason(error)}`, RUNTIME_ENV.configFile, {
      cause: error,
    });
  }
}

type ParsedDocument = z.output<typeof runtimeDocumentSchema>;

function parseDocument(text: string, source: string): ParsedDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const variable =
      source === RUNTIME_ENV.config
        ? RUNTIME_ENV.config
        : source.startsWith(RUNTIME_ENV.configFile)
          ? RUNTIME_ENV.configFile
          : '(document)';
    throw new ConfigError(`${source}: not valid JSON: ${reason(error)}`, variable, { cause: error });
  }
  const result = runtimeDocumentReader.safeParse(json);
  if (result.success) return result.data;
  throw fromIssues(result.error, [], source);
}

/** A `ConfigError` for zod issues: every issue as `path: message`, the first one's path as `path`. */
function fromIssues(error: z.ZodError, prefix: readonly string[], source: string): ConfigError {
  const pathOf = (issue: z.core.$ZodIssue) =>
    [...prefix, ...issue.path.map(String)].join('.') || '(document)';
  const issues = error.issues.slice(0, 10).map((issue) => `${pathOf(issue)}: ${issue.message}`);
  const more = error.issues.length > 10 ? `; and ${error.issues.length - 10} more` : '';
  const first = error.issues[0];
  return new ConfigError(
    `invalid configuration in ${source}: ${issues.join('; ')}${more}`,
    first ? pathOf(first) : '(document)',
    { cause: error },
  );
}

type ResolvedDocument = Pick<
  RuntimeConfig,
  'instruments' | 'catalogue' | 'venues' | 'consensus' | 'marks' | 'sweep' | 'backtest'
> & {
  readonly stress?: StressSettings;
  readonly levels?: MarginLevels;
  readonly valuation?: ValuationPolicy;
  readonly discovery?: RuntimeConfig['discovery'];
};

function resolveDocument(document: ParsedDocument | undefined, source: string): ResolvedDocument {
  if (document === undefined) {
    return {
      instruments: [],
      catalogue: DEFAULT_INSTRUMENT_CATALOGUE,
      venues: [...DEFAULT_CONSENSUS_VENUES],
      consensus: {},
      marks: DEFAULT_MARK_SETTINGS,
      sweep: {},
      backtest: DEFAULT_BACKTEST_SETTINGS,
    };
  }
  const catalogue = resolveCatalogue(document.catalogue, source);
  const venues = document.venues ?? [...DEFAULT_CONSENSUS_VENUES];
  const consensus = document.consensus ?? {};
  if (consensus.quorum !== undefined && consensus.quorum > venues.length) {
    throw new ConfigError(
      `invalid configuration in ${source}: consensus.quorum: ${consensus.quorum} is more than the ${venues.length} configured venues`,
      'consensus.quorum',
    );
  }

  const defaultPolicy = withConfigPath(source, () =>
    parseThresholdPolicy(document.defaultPolicy, 'defaultPolicy'),
  );
  const instruments = Object.entries(document.instruments).map(([instrument, entry]): InstrumentPolicy => {
    const where = `instruments.${instrument}`;
    const listing = Object.hasOwn(catalogue, instrument) ? catalogue[instrument] : undefined;
    if (!listing) {
      throw new ConfigError(
        `invalid configuration in ${source}: ${where}: not in the instrument catalogue (it knows ` +
          `${knownInstruments(catalogue).join(', ')}); add its venue names under "catalogue"`,
        where,
      );
    }
    if (!venues.some((venue) => listing[venue] !== undefined)) {
      throw new ConfigError(
        `invalid configuration in ${source}: ${where}: listed on none of the configured venues (${venues.join(', ')})`,
        where,
      );
    }
    // The instrument's own policy wins field by field over defaultPolicy; a bad merged field names the instrument.
    const input = mergePolicyDocuments(document.defaultPolicy ?? {}, entry.policy ?? {});
    const policy = withConfigPath(source, () => parseThresholdPolicy(input, `${where}.policy`));
    return { instrument, policy };
  });

  const levels = resolveLevels(document, defaultPolicy, source);
  const stress =
    document.stress === undefined
      ? undefined
      : {
          shocks: document.stress.shocks,
          insuranceFund: document.stress.insuranceFund,
          segments: document.stress.segments ?? 8,
          cascade: withConfigPath(source, () =>
            parseCascadePolicy(document.stress?.cascade, 'stress.cascade'),
          ),
        };
  const valuation =
    document.valuation === undefined
      ? undefined
      : withConfigPath(source, () => parseValuationPolicy(document.valuation, 'valuation'));
  return {
    instruments,
    catalogue,
    venues,
    consensus,
    marks: {
      live: document.marks?.live ?? DEFAULT_MARK_SETTINGS.live,
      venues: document.marks?.venues ?? DEFAULT_MARK_SETTINGS.venues,
    },
    sweep: document.sweep ?? {},
    backtest: {
      enabled: document.backtest?.enabled ?? DEFAULT_BACKTEST_SETTINGS.enabled,
      scoredDays: document.backtest?.scoredDays ?? DEFAULT_BACKTEST_SETTINGS.scoredDays,
    },
    ...(stress === undefined ? {} : { stress }),
    ...(levels === undefined ? {} : { levels }),
    ...(valuation === undefined ? {} : { valuation }),
    ...(document.discovery?.enabled === true && {
      discovery: resolveDiscovery(document, source, venues, defaultPolicy),
    }),
  };
}

function resolveDiscovery(
  document: ParsedDocument,
  source: string,
  venues: readonly CatalogueVenue[],
  defaultPolicy: ThresholdPolicy,
): NonNullable<RuntimeConfig['discovery']> {
  const filter = withConfigPath(source, () =>
    parseCatalogueFilter(document.discovery?.filter, 'discovery.filter'),
  );
  // The consensus's own default (2, or 1 when one venue lists it): a deployment reading one priced venue's
  // list accepts single-venue prices; one reading several holds a listing that only one of them has.
  const read = venues.filter((venue) => filter.venues.includes(venue)).length;
  const quorum = document.consensus?.quorum ?? Math.max(1, Math.min(DEFAULT_LISTING_QUORUM, read));
  return { filter, defaultPolicy, quorum, pricedBy: venues };
}

function resolveCatalogue(override: unknown, source: string): InstrumentCatalogue {
  if (override === undefined) return DEFAULT_INSTRUMENT_CATALOGUE;
  try {
    return mergeInstrumentCatalogue(DEFAULT_INSTRUMENT_CATALOGUE, override);
  } catch (error) {
    // mergeInstrumentCatalogue names paths from `instruments`; in this document the field is `catalogue`.
    if (error instanceof PolicyError && error.cause instanceof z.ZodError) {
      throw fromIssues(error.cause, ['catalogue'], source);
    }
    if (error instanceof PolicyError) {
      const path = error.path.replace(/^instruments/, 'catalogue');
      throw new ConfigError(`invalid configuration in ${source}: ${path}: ${error.message}`, path, {
        cause: error,
      });
    }
    throw error;
  }
}

function resolveLevels(
  document: ParsedDocument,
  defaultPolicy: ThresholdPolicy,
  source: string,
): MarginLevels | undefined {
  if (document.levels === undefined) {
    return document.defaultPolicy?.levels === undefined ? undefined : defaultPolicy.levels;
  }
  const levels: MarginLevels = { ...defaultPolicy.levels, ...definedOnly(document.levels) };
  if (!(levels.warning > levels.marginCall && levels.marginCall > levels.liquidation)) {
    throw new ConfigError(
      `invalid configuration in ${source}: levels: needs warning > marginCall > liquidation ` +
        `(got ${levels.warning}, ${levels.marginCall}, ${levels.liquidation})`,
      'levels',
    );
  }
  return levels;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Rethrow a `PolicyError` as a `ConfigError` that says which document it came from. */
function withConfigPath<T>(source: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PolicyError) {
      throw new ConfigError(`invalid configuration in ${source}: ${error.message}`, error.path, {
        cause: error,
      });
    }
    throw error;
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
