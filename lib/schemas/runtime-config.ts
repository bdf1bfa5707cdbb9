/**
 * The configuration document's JSON Schema (`qmt-config.v1.json`), generated from the same zod schemas the
 * functions parse with: the document's own (`runtimeDocumentSchema`) with the threshold policy's schema in
 * place of the free-form policy objects, so AppConfig refuses a bad policy field before any function sees it.
 *
 * Draft-04, because AppConfig's JSON Schema validator reads no later draft; compact, because a validator's
 * content is capped at 32,768 characters. JSON Schema cannot say everything zod does (an instrument missing
 * from the catalogue, warning > marginCall > liquidation, a quorum above the venue count, an MPOR that is not
 * whole days): those documents pass AppConfig and are refused by the function's own parse, which keeps it on
 * its last good configuration (`lambdas/shared/live-config.ts`).
 */
import { z } from 'zod';
import { runtimeDocumentSchema } from '../config/runtime.ts';
import { thresholdPolicySchema } from '../domain/threshold/policy.ts';

/** AppConfig's limit on a JSON Schema validator's content (characters). */
export const APPCONFIG_VALIDATOR_MAX_CHARS = 32_768;

const SYMBOL = /^[A-Z0-9][A-Z0-9_.-]*$/;

/** The document as published: every field of `runtimeDocumentSchema`, policies in full. */
const publishedDocumentSchema = runtimeDocumentSchema.extend({
  instruments: z.record(
    z.string().regex(SYMBOL),
    z.strictObject({ policy: thresholdPolicySchema.optional() }),
  ),
  defaultPolicy: thresholdPolicySchema.optional(),
});

/** The JSON Schema object (draft-04; the input side: fields with defaults are optional). */
export function runtimeConfigJsonSchema(): Record<string, unknown> {
  // `reused: 'ref'` writes the policy schema once (instruments and defaultPolicy share it): half the size.
  return z.toJSONSchema(publishedDocumentSchema, { target: 'draft-4', io: 'input', reused: 'ref' }) as Record<
    string,
    unknown
  >;
}

/** The validator content AppConfig is given: the schema as compact JSON. */
export function runtimeConfigValidatorText(): string {
  return JSON.stringify(runtimeConfigJsonSchema());
}
