/**
 * What the Lambda bundles get for `zod` (esbuild `alias`, see `infra/bundling.ts`): zod's own `zod` entry,
 * but with `z.locales` and `z.core.locales` left out.
 *
 * Why: zod exports `z` as a namespace object, so esbuild keeps everything reachable from it, and
 * `z.locales` / `z.core.locales` reach every language zod ships (~264 KB of a ~454 KB zod). Nothing here
 * uses them: zod's schemas set English (`locales/en.js`) as the default themselves, so parsing, error
 * messages and every other export behave as with `zod`. Types still come from the real `zod` (the alias
 * is applied by esbuild only); `Parity` below fails `tsc` if a zod upgrade adds an export missing here.
 *
 * Only the bare `zod` specifier should be imported: esbuild's alias also captures every `zod/...` subpath,
 * so a subpath import fails the bundle rather than shipping zod twice. For the same reason the files here
 * reach zod's public entries (`zod/v4`, `zod/v4/core`) as `#zod/v4` and `#zod/v4/core`, names qmt's
 * package.json `imports` maps to them, never by a path inside node_modules that a zod upgrade can move
 * (`test/infra/zod-without-locales.test.ts`).
 */
import type { z as zod } from 'zod';
import * as z from './classic.ts';

export * from './classic.ts';
export { z, z as default };

type Missing<Full, Lean> = Exclude<keyof Full, keyof Lean | 'locales'>;
type Assert<T extends never> = T;
/** Every value export of zod's `z` and `z.core`, bar `locales`, is here too (`never` when it is). */
export type Parity = Assert<Missing<typeof zod, typeof z> | Missing<typeof zod.core, typeof z.core>>;
