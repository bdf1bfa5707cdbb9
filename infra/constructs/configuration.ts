/**
 * The functions' configuration document in AppConfig: an application, one environment whose monitors are
 * the stack's alarms (an alarm during a deployment rolls it back), a hosted configuration profile whose JSON
 * Schema validator is generated from the zod schema (`npm run schemas`), the document as its first version,
 * deployed by `cdk deploy`. A policy change after that is an AppConfig deployment, not a code deployment
 * (README, "Changing a policy"). Each function's environment names the profile by its names, and its role may
 * read that one profile (its ARN by ids and by names) and nothing else.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as appconfig from 'aws-cdk-lib/aws-appconfig';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { APPCONFIG_SOURCE_IAM_ACTIONS } from '../../lib/adapters/appconfig/config-document-source.ts';
import { RUNTIME_ENV, type RuntimeDocument } from '../../lib/config/runtime.ts';
import { runtimeConfigValidatorText } from '../../lib/schemas/runtime-config.ts';

export interface ConfigurationOptions {
  readonly prefix: string;
  readonly document: RuntimeDocument;
  /** Watched during every deployment: one in ALARM rolls the configuration back. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly functions: readonly NodejsFunction[];
}

export interface QmtConfiguration {
  readonly application: appconfig.Application;
  readonly environment: appconfig.Environment;
  readonly profile: appconfig.HostedConfiguration;
  readonly deploymentStrategy: appconfig.DeploymentStrategy;
  /** Any of the stack's alarms: the one monitor (AppConfig takes at most five). */
  readonly rollbackAlarm: cloudwatch.CompositeAlarm;
}

/**
 * Half the functions' pollers take a new version, then the rest a minute later; ten minutes of bake after
 * that, because the functions re-read every minute and the alarms evaluate over five-minute periods: a
 * policy that breaks a sweep is seen before the deployment completes.
 */
export const CONFIG_ROLLOUT = appconfig.RolloutStrategy.linear({
  growthFactor: 50,
  deploymentDuration: Duration.minutes(2),
  finalBakeTime: Duration.minutes(10),
});

/** The names the functions' environment gives AppConfig (it accepts names or ids). */
const APPLICATION_NAME = (prefix: string) => prefix;
const ENVIRONMENT_NAME = (prefix: string) => prefix;
export const PROFILE_NAME = 'runtime';

export function createConfiguration(scope: Construct, options: ConfigurationOptions): QmtConfiguration {
  const application = new appconfig.Application(scope, 'ConfigApplication', {
    applicationName: APPLICATION_NAME(options.prefix),
    description: 'qmt: instruments, threshold policies, venues, margin levels',
  });
  const rollbackAlarm = new cloudwatch.CompositeAlarm(scope, 'ConfigRollbackAlarm', {
    compositeAlarmName: `${options.prefix}-config-rollback`,
    alarmDescription: 'Any qmt alarm: a configuration deployment under way when it fires is rolled back',
    alarmRule: cloudwatch.AlarmRule.anyOf(
      ...options.alarms.map((alarm) => cloudwatch.AlarmRule.fromAlarm(alarm, cloudwatch.AlarmState.ALARM)),
    ),
  });
  // AppConfig reads the alarm's state through this role; the construct's own would allow every alarm.
  const alarmRole = new iam.Role(scope, 'ConfigAlarmRole', {
    assumedBy: new iam.ServicePrincipal('appconfig.amazonaws.com'),
    description: 'qmt: AppConfig reads the configuration rollback alarm',
  });
  alarmRole.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: [rollbackAlarm.alarmArn] }),
  );
  const environment = new appconfig.Environment(scope, 'ConfigEnvironment', {
    application,
    environmentName: ENVIRONMENT_NAME(options.prefix),
    monitors: [appconfig.Monitor.fromCloudWatchAlarm(rollbackAlarm, alarmRole)],
  });
  const deploymentStrategy = new appconfig.DeploymentStrategy(scope, 'ConfigDeploymentStrategy', {
    deploymentStrategyName: `${options.prefix}-linear-2m-bake-10m`,
    description: 'qmt: half the functions, then all over two minutes; ten minutes watching the alarms',
    rolloutStrategy: CONFIG_ROLLOUT,
  });
  const profile = new appconfig.HostedConfiguration(scope, 'ConfigProfile', {
    application,
    name: PROFILE_NAME,
    description: 'The functions’ configuration document (lib/config/runtime.ts)',
    content: appconfig.ConfigurationContent.fromInlineJson(JSON.stringify(options.document)),
    validators: [appconfig.JsonSchemaValidator.fromInline(runtimeConfigValidatorText())],
    deploymentStrategy,
    deployTo: [environment],
  });

  const profileArn = (applicationPart: string, environmentPart: string, profilePart: string) =>
    Stack.of(scope).formatArn({
      service: 'appconfig',
      resource: 'application',
      resourceName: `${applicationPart}/environment/${environmentPart}/configuration/${profilePart}`,
    });
  // IAM's `configuration` resource is the id form (Service Authorization Reference); the functions call
  // with names, and no AWS page says a call by names is authorised against the ids it resolves to. Both
  // forms name this one profile, so granting both allows nothing more (test/integration/iam-usage.test.ts).
  const profileArns = [
    profileArn(application.applicationId, environment.environmentId, profile.configurationProfileId),
    profileArn(APPLICATION_NAME(options.prefix), ENVIRONMENT_NAME(options.prefix), PROFILE_NAME),
  ];
  // The functions name the profile by its names, not its ids, and read it under a policy of its own, not
  // their roles' default policies: the environment's monitor watches alarms on the functions, so a function
  // (or the policy it waits for) that referred to the environment would close a dependency cycle.
  const read = new iam.Policy(scope, 'ConfigReadPolicy', {
    statements: [
      new iam.PolicyStatement({ actions: [...APPCONFIG_SOURCE_IAM_ACTIONS], resources: profileArns }),
    ],
  });
  for (const fn of options.functions) {
    fn.addEnvironment(RUNTIME_ENV.appConfigApplication, APPLICATION_NAME(options.prefix));
    fn.addEnvironment(RUNTIME_ENV.appConfigEnvironment, ENVIRONMENT_NAME(options.prefix));
    fn.addEnvironment(RUNTIME_ENV.appConfigProfile, PROFILE_NAME);
    if (!fn.role) throw new Error(`${fn.node.path} has no role`);
    read.attachToRole(fn.role);
  }
  return { application, environment, profile, deploymentStrategy, rollbackAlarm };
}
