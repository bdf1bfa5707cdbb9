/**
 * Writes the published JSON Schemas from their zod schemas (`npm run schemas`): the zod schema is the one
 * source, descriptions included, and `test/schemas/generated.test.ts` fails when a committed file differs
 * from what this writes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { marginAlertSchema } from '../domain/alert/alert.ts';
import { asyncApiDocument } from './asyncapi.ts';
import { opsMessageSchema } from './ops-message.ts';
import { runtimeConfigJsonSchema } from './runtime-config.ts';

/** Each published schema: its file (relative to this folder) and the zod schema it is generated from. */
export const PUBLISHED_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  'margin-alert.v1.json': marginAlertSchema,
  'ops-message.v1.json': opsMessageSchema,
};

/** Other published documents built from the same zod schemas: file → its content. */
export const PUBLISHED_DOCUMENTS: Readonly<Record<string, () => string>> = {
  'asyncapi.json': () => `${JSON.stringify(asyncApiDocument(), null, 2)}\n`,
  // The configuration document, draft-04 for AppConfig's validator (lib/schemas/runtime-config.ts).
  'qmt-config.v1.json': () => `${JSON.stringify(runtimeConfigJsonSchema(), null, 2)}\n`,
};

/** The file's content: JSON Schema draft 2020-12, as `JSON.stringify` lays it out (Biome then reflows it). */
export function jsonSchemaText(schema: z.ZodType): string {
  // `unrepresentable: 'throw'` (the default) keeps a schema zod cannot translate from being published half.
  return `${JSON.stringify(z.toJSONSchema(schema, { target: 'draft-2020-12' }), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const documents: [string, () => string][] = [
    ...Object.entries(PUBLISHED_SCHEMAS).map(([file, schema]): [string, () => string] => [
      file,
      () => jsonSchemaText(schema),
    ]),
    ...Object.entries(PUBLISHED_DOCUMENTS),
  ];
  for (const [file, text] of documents) {
    const path = fileURLToPath(new URL(file, import.meta.url));
    writeFileSync(path, text());
    // Biome's layout, so `npm run lint` passes on the written file; the test compares content, not layout.
    execFileSync('npx', ['biome', 'format', '--write', path], { stdio: 'inherit' });
    console.info(`wrote ${path}`);
  }
}
