/**
 * The deployment configuration of one environment (`infra/config/<env>.json`), validated at synth. A bad
 * value fails `cdk synth` with the file, the path of the value and the reason, before anything reaches
 * CloudFormation.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig, type RuntimeDocument, runtimeDocumentSchema } from '../../lib/config/runtime.ts';
import { MARGIN_STATES } from '../../lib/domain/account/account.ts';
import { withoutReservedKeys } from '../../lib/domain/document-keys.ts';

export { ConfigError };

/** The directory of the environment files that ship with the repository. */
export const CONFIG_DIR = fileURLToPath(new URL('.', import.meta.url));

const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** CloudWatch Logs accepts only these retention periods (days); 9999 keeps logs forever. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
  9999,
] as const;

/** Tables, topics and queues are named `<prefix>-…`; SNS allows letters, digits, `-` and `_` only. */
const namePrefix = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, "-" or "_", at most 40 characters (e.g. qmt-prod)');

const timeZone = z.string().refine(
  (name) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone (e.g. UTC, Europe/London, Asia/Singapore)' },
);

/**
 * EventBridge Scheduler's own syntax: `cron(<minute> <hour> <day-of-month> <month> <day-of-week> <year>)`
 * or `rate(<n> <unit>)` with the singular unit for 1 and the plural otherwise.
 */
const scheduleExpression = z.string().superRefine((text, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (text.startsWith('cron(')) {
    if (!/^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/.test(text)) {
      fail(
        'a Scheduler cron expression has six fields, e.g. "cron(5 0 * * ? *)" (minute hour day-of-month month day-of-week year)',
      );
    }
    return;
  }
  const rate = /^rate\(([1-9]\d*) (minute|hour|day)(s?)\)$/.exec(text);
  if (text.startsWith('rate(') && !rate) {
    fail('a Scheduler rate expression is "rate(<n> minutes|hours|days)", e.g. "rate(5 minutes)"');
  } else if (rate) {
    if ((rate[1] === '1') !== (rate[3] === '')) {
      fail('Scheduler wants "rate(1 minute)" for one and the plural otherwise, e.g. "rate(5 minutes)"');
    }
  } else {
    fail('a Scheduler expression: "cron(5 0 * * ? *)" or "rate(5 minutes)"');
  }
});

const awsAccountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');

const values = <T extends string>(item: z.ZodType<T>) => z.array(item).min(1).max(100);

/** Filter on the alert's SNS message attributes; subscribers get only what matches every listed attribute. */
const alertFilterPolicy = z.strictObject({
  eventType: values(z.string().min(1)).optional(),
  severity: values(z.enum(SEVERITIES)).optional(),
  accountId: values(z.string().min(1)).optional(),
  newState: values(z.enum(MARGIN_STATES as unknown as [string, ...string[]])).optional(),
});

/** The ops topic's messages carry `eventType` and `severity` only. */
const opsFilterPolicy = z.strictObject({
  eventType: values(z.string().min(1)).optional(),
  severity: values(z.enum(SEVERITIES)).optional(),
});

const lambdaArn = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;
const sqsArn = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/;

function subscriptionSchema<F extends z.ZodType>(filterPolicy: F) {
  const common = { filterPolicy: filterPolicy.optional() };
  return z.discriminatedUnion('protocol', [
    z.strictObject({ protocol: z.literal('email'), endpoint: z.email(), ...common }),
    z.strictObject({
      protocol: z.literal('https'),
      endpoint: z.url({ protocol: /^https$/, error: 'an https:// URL' }),
      rawMessageDelivery: z.boolean().default(false),
      ...common,
    }),
    z.strictObject({
      protocol: z.literal('sqs'),
      endpoint: z.string().regex(sqsArn, 'an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>)'),
      rawMessageDelivery: z.boolean().default(false),
      ...common,
    }),
    z.strictObject({
      protocol: z.literal('lambda'),
      endpoint: z
        .string()
        .regex(lambdaArn, 'a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)'),
      ...common,
    }),
  ]);
}

const alertSubscription = subscriptionSchema(alertFilterPolicy);
const opsSubscription = subscriptionSchema(opsFilterPolicy);
export type AlertSubscriptionConfig = z.output<typeof alertSubscription>;
export type OpsSubscriptionConfig = z.output<typeof opsSubscription>;
export type SubscriptionConfig = AlertSubscriptionConfig | OpsSubscriptionConfig;

export const environmentConfigSchema = z.strictObject({
  /** Target account and region; left out, the stack is environment-agnostic (the CLI's profile decides). */
  account: awsAccountId.optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
    .optional(),
  /** @default `qmt-<env>` */
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name')
    .optional(),
  /** @default `qmt-<env>` */
  namePrefix: namePrefix.optional(),
  /**
   * The functions' configuration document, passed to them as `QMT_CONFIG`: instruments and their policies,
   * catalogue additions, venues, sweep sizing, margin levels (`lib/config/runtime.ts` reads it).
   */
  qmt: runtimeDocumentSchema,
  schedules: z
    .strictObject({
      timeZone: timeZone.default('UTC'),
      recalibration: scheduleExpression.default('cron(5 0 * * ? *)'),
      sweep: scheduleExpression.default('rate(5 minutes)'),
      /** The daily stress run (with `qmt.stress`): after the recalibration, so it stresses the new set. */
      stress: scheduleExpression.default('cron(5 1 * * ? *)'),
      enabled: z.boolean().default(true),
    })
    .prefault({}),
  subscriptions: z
    .strictObject({
      alerts: z.array(alertSubscription).max(100).default([]),
      ops: z.array(opsSubscription).max(100).default([]),
    })
    .prefault({}),
  alarmEmail: z.email().optional(),
  /** Other AWS accounts allowed to subscribe to the alerts topic (`sns:Subscribe` only). */
  alertSubscriberAccounts: z
    .array(awsAccountId)
    .max(100)
    .refine((accounts) => new Set(accounts).size === accounts.length, 'each account once')
    .optional(),
  accountsTable: z
    .discriminatedUnion('mode', [
      z.strictObject({ mode: z.literal('create') }),
      z.strictObject({
        mode: z.literal('import'),
        tableName: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name'),
        /** The table's customer-managed key, if it has one: the sweep worker needs kms:Decrypt on it. */
        encryptionKeyArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'a KMS key ARN')
          .optional(),
      }),
    ])
    .default({ mode: 'create' }),
  fifoAlerts: z.boolean().default(false),
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  /** @default true when removalPolicy is retain */
  deletionProtection: z.boolean().optional(),
  logRetentionDays: z
    .number()
    .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      message: `one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(90),
  tracing: z.boolean().default(false),
  sweep: z
    .strictObject({
      workerTimeoutSeconds: z.number().int().min(30).max(900).default(300),
      workerConcurrency: z.number().int().min(2).max(1000).default(100),
      maxReceiveCount: z.number().int().min(1).max(100).default(5),
    })
    .prefault({}),
  /** Alarm when no recalibration has succeeded for this long. */
  maxThresholdAgeHours: z.number().int().min(2).max(168).default(26),
  tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
});

export type EnvironmentConfigInput = z.input<typeof environmentConfigSchema>;

/** The file as read: a reserved key anywhere (`tags.__proto__` would be dropped by the record) is named. */
const environmentConfigReader = withoutReservedKeys(environmentConfigSchema);
export type EnvironmentConfig = z.output<typeof environmentConfigSchema> & {
  readonly qmt: RuntimeDocument;
  /** The environment's name (`dev`, `prod`): the file name without `.json`. */
  readonly name: string;
  readonly stackName: string;
  readonly namePrefix: string;
  readonly deletionProtection: boolean;
};

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,30}$/;

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

const RUNTIME_PREFIX = /^invalid configuration in QMT_CONFIG: /;

type Issue = { readonly path: readonly PropertyKey[]; readonly message: string };

/**
 * The `qmt` document resolved exactly as the functions will resolve it: every policy parsed (defaults merged),
 * every instrument looked up in the catalogue, venues and levels checked.
 */
function runtimeIssues(qmt: unknown): Issue[] {
  try {
    loadRuntimeConfig({ QMT_CONFIG: JSON.stringify(qmt) }, { require: ['instruments'] });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The runtime's message repeats the path it names; keep only the reason after it.
    const reason = error.message.replace(RUNTIME_PREFIX, '').replace(/^invalid threshold policy: /, '');
    return [
      {
        path: ['qmt', ...error.path.split('.')],
        message: reason.startsWith(`${error.path}: `) ? reason.slice(error.path.length + 2) : reason,
      },
    ];
  }
}

/** FIFO topics deliver to SQS queues only. */
function fifoIssues(config: z.output<typeof environmentConfigSchema>): Issue[] {
  if (!config.fifoAlerts) return [];
  return config.subscriptions.alerts.flatMap((subscription, index) =>
    subscription.protocol === 'sqs'
      ? []
      : [
          {
            path: ['subscriptions', 'alerts', index, 'protocol'],
            message: `a FIFO alerts topic delivers to SQS queues only, not ${subscription.protocol}`,
          },
        ],
  );
}

/**
 * Validate a parsed configuration document. `source` names it in errors (a file path).
 *
 * @throws ConfigError listing every bad value as `source: path: reason`.
 * @example
 * const config = parseEnvironmentConfig('dev', { qmt: { instruments: { BTC: {} } } });
 */
export function parseEnvironmentConfig(
  name: string,
  document: unknown,
  source = `${name}.json`,
): EnvironmentConfig {
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new ConfigError(
      `environment name "${name}": lower-case letters, digits and "-", starting with a letter (e.g. dev, prod)`,
      'env',
    );
  }
  const result = environmentConfigReader.safeParse(document);
  let issues: Issue[];
  if (result.success) {
    issues = [...runtimeIssues(result.data.qmt), ...fifoIssues(result.data)];
  } else {
    issues = result.error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
    // Report the functions' document too when its shape was right, so one run lists every mistake.
    const qmt = (document as { qmt?: unknown } | null)?.qmt;
    if (qmt !== undefined && !issues.some((issue) => issue.path[0] === 'qmt'))
      issues.push(...runtimeIssues(qmt));
  }
  if (!result.success || issues.length > 0) {
    const lines = issues.map(
      (issue) => `${source}: ${formatPath(issue.path) || '(document)'}: ${issue.message}`,
    );
    throw new ConfigError(
      `invalid configuration:\n  ${lines.join('\n  ')}`,
      `${source}: ${formatPath(issues[0]?.path ?? []) || '(document)'}`,
      result.success ? undefined : { cause: result.error },
    );
  }
  const config = result.data;
  return {
    ...config,
    name,
    stackName: config.stackName ?? `qmt-${name}`,
    namePrefix: config.namePrefix ?? `qmt-${name}`,
    deletionProtection: config.deletionProtection ?? config.removalPolicy === 'retain',
  };
}

export interface LoadOptions {
  /** A configuration file to use instead of `infra/config/<env>.json` (relative to the working directory). */
  readonly file?: string;
}

/**
 * Read and validate `infra/config/<env>.json` (or `options.file`).
 *
 * @throws ConfigError when the file is missing, is not JSON, or holds a bad value.
 * @example
 * const config = loadEnvironmentConfig('prod');
 */
export function loadEnvironmentConfig(name: string, options: LoadOptions = {}): EnvironmentConfig {
  const file = options.file ? resolve(options.file) : resolve(CONFIG_DIR, `${name}.json`);
  const shown = isAbsolute(options.file ?? '') ? file : relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `no configuration for environment "${name}": cannot read ${shown} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      shown,
      { cause: error },
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${shown}: not valid JSON: ${(error as Error).message}`, shown, { cause: error });
  }
  return parseEnvironmentConfig(name, document, shown);
}
