/**
 * The configuration document from AppConfig (hosted configuration), through Powertools' AppConfig provider:
 * one configuration session per container, `GetLatestConfiguration` at most once per `maxAgeSeconds`, and
 * between calls the cached text. AppConfig answers an unchanged configuration with an empty body; the
 * provider then hands back the text it kept.
 */
import { AppConfigProvider } from '@aws-lambda-powertools/parameters/appconfig';
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import type { AppConfigLocation } from '../../config/runtime.ts';
import type { ConfigDocumentSource } from '../../ports.ts';

/** The calls this adapter makes, both on the configuration profile's ARN (its environment's form). */
export const APPCONFIG_SOURCE_IAM_ACTIONS = [
  'appconfig:GetLatestConfiguration',
  'appconfig:StartConfigurationSession',
] as const;

/**
 * How long a read configuration is used before AppConfig is asked again. A minute: a policy change reaches
 * every warm function within a minute of its deployment finishing (AppConfig's own bake time is longer),
 * while a sweep worker that runs every few seconds makes one call a minute, not one per record; and
 * AppConfig charges per call received.
 */
export const CONFIG_MAX_AGE_SECONDS = 60;

/** Time limits for one AppConfig call: it answers in milliseconds from a regional cache. */
export const APPCONFIG_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000 } as const;

export interface AppConfigDocumentSourceOptions {
  readonly location: AppConfigLocation;
  /** @default CONFIG_MAX_AGE_SECONDS */
  readonly maxAgeSeconds?: number;
  /** @default a client with qmt's timeouts */
  readonly client?: AppConfigDataClient;
}

export class AppConfigDocumentSource implements ConfigDocumentSource {
  readonly name: string;
  private readonly provider: AppConfigProvider;
  private readonly profile: string;
  private readonly maxAge: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(options: AppConfigDocumentSourceOptions) {
    const { application, environment, profile } = options.location;
    this.name = `AppConfig ${application}/${environment}/${profile}`;
    this.profile = profile;
    this.maxAge = options.maxAgeSeconds ?? CONFIG_MAX_AGE_SECONDS;
    this.provider = new AppConfigProvider({
      application,
      environment,
      awsSdkV3Client:
        options.client ??
        new AppConfigDataClient({
          requestHandler: {
            connectionTimeout: APPCONFIG_TIMEOUTS.connectionTimeoutMs,
            requestTimeout: APPCONFIG_TIMEOUTS.requestTimeoutMs,
            throwOnRequestTimeout: true,
          },
        }),
    });
  }

  async document(): Promise<string> {
    const value = await this.provider.get(this.profile, { maxAge: this.maxAge });
    if (value === undefined) throw new Error(`${this.name}: AppConfig returned no configuration`);
    return typeof value === 'string' ? value : this.decoder.decode(value as Uint8Array);
  }
}
