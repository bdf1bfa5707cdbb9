import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';

const env = (stress: unknown) => ({
  QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} }, stress }),
});

function pathOf(stress: unknown): string {
  try {
    loadRuntimeConfig(env(stress));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).path;
  }
  throw new Error('expected a ConfigError');
}

describe('the stress run settings', () => {
  it('reads the shocks, the insurance fund and the cascade settings with their defaults', () => {
    const config = loadRuntimeConfig(env({ shocks: { BTC: -0.3 }, insuranceFund: 2e6 }));
    expect(config.stress?.shocks).toEqual({ BTC: -0.3 });
    expect(config.stress?.insuranceFund).toBe(2e6);
    expect(config.stress?.segments).toBe(8);
    expect(config.stress?.cascade.maxRounds).toBe(20);
    expect(loadRuntimeConfig(env(undefined)).stress).toBeUndefined();
  });

  it.each([
    ['a move of -100%', { shocks: { BTC: -1 }, insuranceFund: 1 }, 'stress.shocks.BTC'],
    ['no shock', { shocks: {}, insuranceFund: 1 }, 'stress.shocks'],
    ['a negative fund', { shocks: { BTC: -0.3 }, insuranceFund: -5 }, 'stress.insuranceFund'],
    ['no fund', { shocks: { BTC: -0.3 } }, 'stress.insuranceFund'],
    ['zero segments', { shocks: { BTC: -0.3 }, insuranceFund: 1, segments: 0 }, 'stress.segments'],
    [
      'a bad cascade setting',
      { shocks: { BTC: -0.3 }, insuranceFund: 1, cascade: { maxRounds: 0 } },
      'stress.cascade.maxRounds',
    ],
  ])('refuses %s, naming %s', (_what, stress, path) => {
    expect(pathOf(stress)).toBe(path);
  });
});
