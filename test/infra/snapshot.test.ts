/**
 * The dev stack's whole template, so any change to the infrastructure shows up in review as a diff.
 * Asset hashes change with every edit to a handler or the bundling options; they are normalised away.
 * Update with `npx vitest run test/infra -u` after checking the diff.
 */
import { describe, expect, it } from 'vitest';
import { buildApp } from './support.ts';

/** The template as text with asset hashes replaced by placeholders. */
function normaliseAssets(template: unknown): unknown {
  const text = JSON.stringify(template)
    .replace(/[0-9a-f]{64}\.zip/g, 'ASSET.zip')
    .replace(/"S3Key":"[0-9a-f]{64}[^"]*"/g, '"S3Key":"ASSET"')
    .replace(/asset\.[0-9a-f]{64}/g, 'asset.HASH');
  return JSON.parse(text);
}

describe('QmtStack snapshot', { timeout: 60_000 }, () => {
  it('matches the reviewed dev template', () => {
    // Act
    const { template } = buildApp('dev');

    // Assess
    expect(normaliseAssets(template.toJSON())).toMatchSnapshot();
  });
});
