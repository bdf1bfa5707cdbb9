/** Shared pieces of the benches: accounts of which a chosen share changes state, request counting, stats. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Account } from '../../../lib/domain/account/account.ts';
import { PRICE } from '../../integration/faults/support.ts';

/** Collateral for one BTC perpetual at the mark (see the faults fixtures): OK, then the three alerting states. */
const SAFE_COLLATERAL = '10000.00';
const ALERTING_COLLATERAL = ['2000.00', '1700.00', '1000.00'] as const;

/**
 * `count` accounts holding one BTC perpetual; every `changeEvery`-th one (from the first) is under-collateralised
 * and moves out of OK on its first sweep, the rest stay OK (no write, no alert).
 */
export function benchAccounts(count: number, changeEvery = 10, prefix = 'bench'): Account[] {
  return Array.from({ length: count }, (_, i) => {
    const changes = i % changeEvery === 0;
    const collateral = changes
      ? (ALERTING_COLLATERAL[(i / changeEvery) % ALERTING_COLLATERAL.length] as string)
      : SAFE_COLLATERAL;
    return {
      accountId: `${prefix}-${String(i).padStart(7, '0')}`,
      collateral: [{ asset: 'USD', amount: collateral }],
      positions: [
        {
          kind: 'perpetual',
          instrument: 'BTC',
          quantity: '1',
          entryPrice: String(PRICE),
          settlement: 'linear',
        },
      ],
    };
  });
}

/**
 * Counts every request `client` sends, per command name. Added at the build step, outside the SDK's retry
 * loop: one count per `send`, retries not included (the `attempts` map counts those, per SDK attempt).
 */
export function countRequests(client: DynamoDBClient): {
  sends: Map<string, number>;
  attempts: Map<string, number>;
  reset(): void;
} {
  const sends = new Map<string, number>();
  const attempts = new Map<string, number>();
  const bump = (map: Map<string, number>, name: string) => map.set(name, (map.get(name) ?? 0) + 1);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(sends, context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'qmtBenchCountSends' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(attempts, context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'deserialize', name: 'qmtBenchCountAttempts' },
  );
  return {
    sends,
    attempts,
    reset() {
      sends.clear();
      attempts.clear();
    },
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Rounded to `digits` decimals, for a table. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * `target` with every method timed: `wall` gets, per `label.method`, the wall-clock seconds during which at
 * least one call of it was in flight (overlapping concurrent calls count once).
 */
export function timed<T extends object>(target: T, label: string, wall: Map<string, number>): T {
  const inFlight = new Map<string, { count: number; since: number }>();
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const key = `${label}.${String(property)}`;
      return async (...args: unknown[]) => {
        const state = inFlight.get(key) ?? { count: 0, since: 0 };
        if (state.count === 0) state.since = performance.now();
        state.count++;
        inFlight.set(key, state);
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        } finally {
          state.count--;
          if (state.count === 0)
            wall.set(key, (wall.get(key) ?? 0) + (performance.now() - state.since) / 1000);
        }
      };
    },
  });
}
