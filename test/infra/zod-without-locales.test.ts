/**
 * `infra/zod-without-locales`, the `zod` the Lambda bundles get (esbuild alias, `infra/bundling.ts`): it
 * imports zod only through entries zod's package.json `exports` declares, so a zod upgrade that moves its
 * files cannot break the bundles; it offers every export of zod's `z` and `z.core` but `locales`; and a
 * bundle built with it carries no language but English.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { z as zod } from 'zod';
import { esbuildBuildOptions } from '../../infra/bundling.ts';
import { z as lean } from '../../infra/zod-without-locales/index.ts';

const FOLDER = new URL('../../infra/zod-without-locales/', import.meta.url);
const zodPackage = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('zod/package.json'), 'utf8'),
) as { exports: Record<string, unknown> };
const qmtPackage = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  imports: Record<string, string>;
};

/** Every module specifier the folder's files import or re-export from, with the file it appears in. */
function specifiers(): { file: string; specifier: string }[] {
  return readdirSync(FOLDER)
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) =>
      [...readFileSync(new URL(file, FOLDER), 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)].map((match) => ({
        file,
        specifier: match[1] ?? '',
      })),
    );
}

/** Text only zod's other languages carry (German, French, Spanish); esbuild writes non-ASCII escaped. */
const OTHER_LANGUAGES = ['Eingabe: erwartet', 'Entr\\xE9e invalide', 'Entrada inv\\xE1lida'];

describe('infra/zod-without-locales', () => {
  it('imports zod only through entries its package.json exports declare, never a node_modules path', () => {
    const found = specifiers();
    expect(found.map(({ specifier }) => specifier)).toEqual(
      expect.arrayContaining(['#zod/v4', '#zod/v4/core']),
    );
    for (const { file, specifier } of found) {
      const where = `${file}: '${specifier}'`;
      expect(specifier, where).not.toMatch(/node_modules/);
      if (specifier.startsWith('./')) {
        expect(readdirSync(FOLDER), where).toContain(specifier.slice(2));
        continue;
      }
      // `#…` goes through qmt's package.json `imports`: the bundles' alias for `zod` would capture `zod/…`.
      const target = specifier.startsWith('#') ? qmtPackage.imports[specifier] : specifier;
      expect(target, where).toMatch(/^zod(\/|$)/);
      expect(Object.keys(zodPackage.exports), where).toContain(`.${(target ?? '').slice('zod'.length)}`);
      expect(import.meta.resolve(specifier), where).toBe(import.meta.resolve(target ?? ''));
    }
  });

  it('offers every export of z and z.core but locales', () => {
    const keys = (namespace: object) => Object.keys(namespace).sort();
    expect(keys(lean)).toEqual(keys(zod).filter((name) => name !== 'locales'));
    expect(keys(lean.core)).toEqual(keys(zod.core).filter((name) => name !== 'locales'));
    expect(lean.string).toBe(zod.string);
    expect(lean.core.$ZodType).toBe(zod.core.$ZodType);
  });

  it('bundled as the handlers are, leaves every language but English out', { timeout: 120_000 }, async () => {
    const bundle = (alias: Record<string, string>) =>
      build({
        ...esbuildBuildOptions(),
        alias,
        sourcemap: false,
        write: false,
        stdin: {
          contents:
            "import { z } from 'zod'; console.log(z.string().safeParse(1).error?.issues[0]?.message);",
          resolveDir: fileURLToPath(new URL('../..', import.meta.url)),
          loader: 'ts',
        },
      }).then((result) => result.outputFiles[0]?.text ?? '');
    const [withAlias, plainZod] = await Promise.all([bundle(esbuildBuildOptions().alias ?? {}), bundle({})]);

    for (const text of OTHER_LANGUAGES) {
      // The markers are real: plain zod ships them. (Booleans, not toContain: a failure would print the bundle.)
      expect(plainZod.includes(text), `plain zod has ${text}`).toBe(true);
      expect(withAlias.includes(text), `zod without locales has ${text}`).toBe(false);
    }
    expect(withAlias.includes('Invalid input: expected'), 'English stays').toBe(true);
    expect(plainZod.length - withAlias.length).toBeGreaterThan(200_000);
    console.info(
      `zod bundle: ${(withAlias.length / 1024).toFixed(0)} KiB without locales, ${(plainZod.length / 1024).toFixed(0)} KiB with`,
    );
  });
});
