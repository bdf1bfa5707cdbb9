/** Errors raised while reading qmt's runtime configuration (environment and configuration document). */
import { PolicyError } from '../domain/errors.ts';

/**
 * A configuration value that is missing or invalid. `path` names the field: an environment variable
 * (`QMT_OPS_TOPIC_ARN`) or a path in the configuration document (`instruments.BTC.policy.confidence`).
 * It extends `PolicyError`, so callers that already branch on bad configuration catch it too.
 */
export class ConfigError extends PolicyError {
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, path, options);
    this.name = 'ConfigError';
  }
}
