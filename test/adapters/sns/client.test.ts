import { afterEach, describe, expect, it } from 'vitest';
import { createSnsClient, resetSnsClientForTests, snsClient } from '../../../lib/adapters/sns/client.ts';

afterEach(() => resetSnsClientForTests());

describe('snsClient', () => {
  it('is created once and reused', () => {
    expect(snsClient()).toBe(snsClient());
  });

  it('leaves retries to the adapters', async () => {
    expect(await createSnsClient({ region: 'eu-west-1' }).config.maxAttempts()).toBe(1);
  });

  it('sets connection and request timeouts that really abort a stuck call', async () => {
    // The SDK resolves requestHandler options lazily; peeking at them is the only way to see what it will use.
    const handler = createSnsClient({ region: 'eu-west-1' }).config.requestHandler as unknown as {
      configProvider: Promise<Record<string, unknown>>;
    };
    expect(await handler.configProvider).toMatchObject({
      connectionTimeout: 1_000,
      requestTimeout: 5_000,
      throwOnRequestTimeout: true,
    });
  });

  it('takes overrides', async () => {
    expect(await createSnsClient({ region: 'eu-west-1' }).config.region()).toBe('eu-west-1');
  });
});
