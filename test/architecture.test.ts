/**
 * The layers README states, held by Biome's `noRestrictedImports` (biome.json `overrides`): each case writes
 * a probe file inside a layer's folder, lints it with the project's own configuration and removes it. A
 * violating import must be reported under the rule; the allowed one beside it must not, so a rule that
 * rejected everything would fail here too.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

interface Diagnostic {
  readonly category: string;
  readonly message: string;
  readonly location: { readonly path: string; readonly start?: { readonly line: number } };
}

/** Lints the paths with biome.json as it is; every diagnostic, by file. */
function lint(paths: readonly string[]): { status: number | null; diagnostics: readonly Diagnostic[] } {
  const run = spawnSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=1000', ...paths], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const report = JSON.parse(run.stdout) as { diagnostics: Diagnostic[] };
  return { status: run.status, diagnostics: report.diagnostics };
}

interface Boundary {
  readonly rule: string;
  readonly folder: string;
  readonly violating: string;
  readonly allowed: string;
}

const BOUNDARIES: readonly Boundary[] = [
  {
    rule: 'lib/domain imports only lib/domain: not a use case',
    folder: 'lib/domain/account',
    violating: '../../app/sweep.ts',
    allowed: '../threshold/threshold.ts',
  },
  {
    rule: 'lib/domain imports only lib/domain: not a port',
    folder: 'lib/domain/account',
    violating: '../../ports.ts',
    allowed: '../errors.ts',
  },
  {
    rule: 'lib/domain imports only lib/domain: not the configuration',
    folder: 'lib/domain/threshold',
    violating: '../../config/instruments.ts',
    allowed: '../math/random.ts',
  },
  {
    rule: 'lib/app takes ports, not adapters',
    folder: 'lib/app',
    violating: '../adapters/sqs/sweep-queue.ts',
    allowed: '../ports.ts',
  },
  {
    rule: 'lib/app does no AWS',
    folder: 'lib/app',
    violating: '@aws-sdk/client-sqs',
    allowed: '../domain/account/account.ts',
  },
  {
    rule: 'lib/app does not read the runtime configuration',
    folder: 'lib/app',
    violating: '../config/runtime.ts',
    allowed: './plan-sweep.ts',
  },
  {
    rule: 'lib/config does not import adapters',
    folder: 'lib/config',
    violating: '../adapters/dynamodb/tables.ts',
    allowed: '../domain/threshold/policy.ts',
  },
  {
    rule: 'lib/config does not import use cases',
    folder: 'lib/config',
    violating: '../app/recalibrate.ts',
    allowed: './tables.ts',
  },
  {
    rule: 'lib does not import lambdas/',
    folder: 'lib/adapters/sqs',
    violating: '../../../lambdas/shared/adapters.ts',
    allowed: '../../config/tables.ts',
  },
  {
    rule: 'lib does not import infra/',
    folder: 'lib/adapters',
    violating: '../../infra/margin-thresholds.ts',
    allowed: './retry.ts',
  },
  {
    rule: 'lib does not import the command line (lib/cli)',
    folder: 'lib/adapters',
    violating: '../cli/main.ts',
    allowed: './retry.ts',
  },
  {
    // The command line runs the real handlers locally, as AWS would: the one part of lib/ that may.
    rule: 'lib/cli may run the handlers in lambdas/, never import infra/',
    folder: 'lib/cli',
    violating: '../../infra/margin-thresholds.ts',
    allowed: '../../lambdas/shared/adapters.ts',
  },
];

/** One probe file per import to check, written inside the layer's folder for the one lint run below. */
const PROBES = BOUNDARIES.flatMap((boundary, i) =>
  (['violating', 'allowed'] as const).map((kind) => ({
    boundary,
    kind,
    specifier: boundary[kind],
    file: `${boundary.folder}/zz-architecture-probe-${process.pid}-${i}-${kind}.ts`,
  })),
);

describe('layer boundaries (biome noRestrictedImports)', () => {
  // One Biome run over the real tree with every probe in place: a run per probe costs a second each.
  let result: ReturnType<typeof lint>;
  beforeAll(() => {
    try {
      for (const probe of PROBES) {
        writeFileSync(
          join(ROOT, probe.file),
          `import * as probe from '${probe.specifier}';\n\nexport { probe };\n`,
        );
      }
      result = lint(['lib', 'lambdas', 'infra']);
    } finally {
      for (const probe of PROBES) rmSync(join(ROOT, probe.file), { force: true });
    }
  });
  const diagnosticsOf = (file: string) => result.diagnostics.filter((d) => d.location.path === file);

  it.each(PROBES.filter((p) => p.kind === 'violating'))(
    '$boundary.rule: $boundary.folder may not import $specifier',
    ({ file }) => {
      expect(diagnosticsOf(file)).toEqual([
        expect.objectContaining({
          category: 'lint/style/noRestrictedImports',
          location: expect.objectContaining({ start: expect.objectContaining({ line: 1 }) }),
        }),
      ]);
    },
  );

  it.each(PROBES.filter((p) => p.kind === 'allowed'))(
    '$boundary.rule: $boundary.folder may import $specifier',
    ({ file }) => {
      expect(diagnosticsOf(file)).toEqual([]);
    },
  );

  it('the real tree keeps every boundary and lints clean', () => {
    const probeFiles = new Set(PROBES.map((p) => p.file));
    expect(result.diagnostics.filter((d) => !probeFiles.has(d.location.path))).toEqual([]);
    // The run fails only for the violating probes.
    expect(result.status).not.toBe(0);
  });
});
