/**
 * What the Lambda bundles get for `zod` (esbuild `alias`, see `infra/bundling.ts`): zod's own `zod` entry
 * (`node_modules/zod/index.js`), but with `z.locales` and `z.core.locales` left out.
 *
 * Why: zod exports `z` as a namespace object, so esbuild keeps everything reachable from it, and
 * `z.locales` / `z.core.locales` reach every language zod ships (~264 KB of a ~454 KB zod). Nothing here
 * uses them: zod's schemas set English (`locales/en.js`) as the default themselves, so parsing, error
 * messages and every other export behave as with `zod`. Types still come from the real `zod` (the alias
 * is applied by esbuild only); `Parity` below fails `tsc` if a zod upgrade adds an export missing here.
 *
 * Only the bare `zod` specifier is replaced: a `zod/...` subpath import fails the bundle (esbuild cannot
 * resolve it under this alias) rather than shipping twice.
 */
import type { z as zod } from 'zod';
import * as z from './classic.ts';

export * from './classic.ts';
export { z, z as default };

type Missing<Full, Lean> = Exclude<keyof Full, keyof Lean | 'locales'>;
type Assert<T extends never> = T;
/** Every value export of zod's `z` and `z.core`, bar `locales`, is here too (`never` when it is). */
export type Parity = Assert<Missing<typeof zod, typeof z> | Missing<typeof zod.core, typeof z.core>>;
