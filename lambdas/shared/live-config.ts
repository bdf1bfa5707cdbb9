/**
 * A deployed function's configuration, read from AppConfig on each invocation (cached by the source for a
 * minute) instead of once from the environment: a policy change is an AppConfig deployment, not a code
 * deployment. Locally (no AppConfig names in the environment) the handler is built once from `QMT_CONFIG` or
 * `QMT_CONFIG_FILE`, as before.
 *
 * AppConfig's JSON Schema validator refuses a malformed document before it is deployed; what JSON Schema
 * cannot say (an instrument missing from the catalogue, levels out of order…) is refused here, by the same
 * parse the local run uses. A refused document, or AppConfig unreachable, leaves the function on its last
 * good configuration, logged as an error once per refused document; with no good configuration yet (a new
 * container) the invocation fails before the handler runs, so nothing is written.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { AppConfigDocumentSource } from '../../lib/adapters/appconfig/config-document-source.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { appConfigLocation, type Environment, type RuntimeDocumentText } from '../../lib/config/runtime.ts';
import type { ConfigDocumentSource } from '../../lib/ports.ts';

/** What a handler factory is given: the environment, and the document when it came from AppConfig. */
export interface ConfiguredHandlerOptions {
  readonly env: Environment;
  readonly document?: RuntimeDocumentText;
}

type Handler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

export interface LiveConfigOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** @default AppConfig at the location the environment names */
  readonly source?: ConfigDocumentSource;
  /** @default a Powertools logger */
  readonly logger?: Pick<Logger, 'error'>;
}

/**
 * The handler `create` builds, on the configuration the environment points to. With an AppConfig location,
 * `create` runs again whenever the document's text changes, and a document it refuses (`ConfigError`) is
 * set aside while the last good handler keeps running.
 *
 * @example
 * export const handler = withLiveConfig((options) => createRecalibrateHandler(options));
 */
export function withLiveConfig<Event, Result>(
  create: (options: ConfiguredHandlerOptions) => Handler<Event, Result>,
  options: LiveConfigOptions = {},
): Handler<Event, Result> {
  const env = options.env ?? process.env;
  const location = options.source === undefined ? appConfigLocation(env) : undefined;
  if (options.source === undefined && location === undefined) return create({ env });
  const source =
    options.source ?? new AppConfigDocumentSource({ location: location as NonNullable<typeof location> });
  const logger = options.logger ?? new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME || 'qmt' });

  let current: { readonly text: string; readonly handler: Handler<Event, Result> } | undefined;
  let refused: string | undefined;

  const configured = async (): Promise<Handler<Event, Result>> => {
    let text: string;
    try {
      text = await source.document();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (current) {
        logger.error(`${source.name} cannot be read; running on the last good configuration`, { reason });
        return current.handler;
      }
      throw new ConfigError(`${source.name}: cannot read the configuration: ${reason}`, '(document)', {
        cause: error,
      });
    }
    if (text === current?.text) return current.handler;
    if (current && text === refused) return current.handler;
    try {
      current = { text, handler: create({ env, document: { text, source: source.name } }) };
      refused = undefined;
    } catch (error) {
      if (!(error instanceof ConfigError) || !current) throw error;
      refused = text;
      logger.error(`${source.name}: configuration refused; running on the last good configuration`, {
        path: error.path,
        reason: error.message,
      });
    }
    return current.handler;
  };

  return async (event, context) => (await configured())(event, context);
}
