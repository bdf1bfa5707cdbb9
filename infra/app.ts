/**
 * The CDK app: `npx cdk synth -c env=dev` (the environment defaults to the `qmt:defaultEnvironment` context
 * value, `dev`). It reads `infra/config/<env>.json`, or the file given with `-c qmt:configFile=<path>`,
 * validates it, builds one `QmtStack` and runs the cdk-nag AWS Solutions checks at synth.
 *
 * Importing this module has no side effects: tests call `createQmtApp` and synthesise what they need.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { linesForTerminal } from '../lib/domain/text.ts';
import { ConfigError, loadEnvironmentConfig } from './config/environment.ts';
import { QmtStack } from './stack.ts';

/** Context keys the app reads. */
export const CONTEXT = {
  environment: 'env',
  defaultEnvironment: 'qmt:defaultEnvironment',
  configFile: 'qmt:configFile',
} as const;

/**
 * An app with the configured environment's stack and the cdk-nag checks registered.
 *
 * @example
 * const { app, stack } = createQmtApp({ context: { env: 'prod' } });
 */
export function createQmtApp(props: AppProps = {}): { app: App; stack: QmtStack } {
  const app = new App(props);
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const name = context(CONTEXT.environment) ?? context(CONTEXT.defaultEnvironment) ?? 'dev';
  const file = context(CONTEXT.configFile);
  const config = loadEnvironmentConfig(name, file ? { file } : {});
  const stack = new QmtStack(app, config.stackName, { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  try {
    createQmtApp().app.synth();
  } catch (error) {
    // A configuration mistake is the user's to fix: say what and where, without a stack trace.
    if (!(error instanceof ConfigError)) throw error;
    // The message quotes values from the file and the command line: show them, never let them drive the terminal.
    console.error(linesForTerminal(error.message));
    process.exitCode = 1;
  }
}
