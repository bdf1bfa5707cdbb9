// The published JSON Schemas are generated from their zod schemas (`npm run schemas`): a committed file that
// differs from what the generator writes (an edited zod schema not regenerated, or a hand edit of the file)
// fails here. Layout is Biome's, so the content is compared, key order included.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemaText, PUBLISHED_SCHEMAS } from '../../lib/schemas/generate.ts';

describe('the published JSON Schemas', () => {
  it.each(Object.entries(PUBLISHED_SCHEMAS))(
    'lib/schemas/%s is the one its zod schema generates',
    (file, schema) => {
      const committed = readFileSync(new URL(`../../lib/schemas/${file}`, import.meta.url), 'utf8');
      expect(
        `${JSON.stringify(JSON.parse(committed), null, 2)}\n`,
        `lib/schemas/${file} is out of date: run npm run schemas`,
      ).toBe(jsonSchemaText(schema));
    },
  );
});
