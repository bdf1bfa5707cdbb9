/**
 * zod's classic API: the exports of zod 4.6.7's `node_modules/zod/v4/classic/external.js` (sorted), less its
 * `export * as locales from '../locales/index.js'`, and with `core` from `./core.ts` (zod's core less
 * `locales`). English messages are unaffected: zod's classic schemas import `locales/en.js` themselves and
 * set it as the default on first use.
 */

export * from '../../node_modules/zod/v4/classic/checks.js';
export type {
  ZodCoercedBigInt,
  ZodCoercedBoolean,
  ZodCoercedDate,
  ZodCoercedNumber,
  ZodCoercedString,
} from '../../node_modules/zod/v4/classic/coerce.js';
export * as coerce from '../../node_modules/zod/v4/classic/coerce.js';
export * from '../../node_modules/zod/v4/classic/compat.js';
export { deepPartial } from '../../node_modules/zod/v4/classic/deep-partial.js';
export * from '../../node_modules/zod/v4/classic/errors.js';
export { fromJSONSchema } from '../../node_modules/zod/v4/classic/from-json-schema.js';
export { input, output } from '../../node_modules/zod/v4/classic/in-out.js';
export * as iso from '../../node_modules/zod/v4/classic/iso.js';
export {
  ZodISODate,
  ZodISODateTime,
  ZodISODuration,
  ZodISOTime,
} from '../../node_modules/zod/v4/classic/iso.js';
export * from '../../node_modules/zod/v4/classic/parse.js';
export * from '../../node_modules/zod/v4/classic/schemas.js';
export type { CompileOptions, infer } from '../../node_modules/zod/v4/core/index.js';
export { toJSONSchema } from '../../node_modules/zod/v4/core/json-schema-processors.js';
export type { JSONType } from '../../node_modules/zod/v4/core/util.js';
export * as core from './core.ts';
export {
  $brand,
  $input,
  $output,
  clone,
  compile,
  config,
  flattenError,
  formatError,
  type GlobalMeta,
  getDiscriminatedOption,
  globalRegistry,
  INVALID,
  memoizer,
  NEVER,
  prettifyError,
  regexes,
  registry,
  TimePrecision,
  toZod,
  treeifyError,
  util,
  withParser,
  ZodCompileAsyncError,
  ZodCompileUnsupportedError,
} from './core.ts';
