/**
 * Shared setup for the infrastructure tests: the app's context from cdk.json, stacks built
 * from configuration documents, and helpers that read IAM statements out of a template.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createQmtApp } from '../../infra/app.ts';
import { type EnvironmentConfigInput, parseEnvironmentConfig } from '../../infra/config/environment.ts';
import { REPO_ROOT } from '../../infra/margin-thresholds.ts';
import { QmtStack } from '../../infra/stack.ts';
import { tempDir } from '../temp-dirs.ts';

/** The context `cdk synth` runs with (feature flags, defaults), so tests see the same template. */
export const CDK_CONTEXT: Readonly<Record<string, unknown>> = JSON.parse(
  readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8'),
).context;

/** Skips esbuild: NodejsFunction stages a placeholder asset instead. One test bundles for real. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

/** The minimal valid configuration document. */
export const MINIMAL_DOCUMENT: EnvironmentConfigInput = { qmt: { instruments: { BTC: {}, ETH: {} } } };

export interface BuiltStack {
  readonly app: App;
  readonly stack: QmtStack;
  readonly template: Template;
}

/**
 * An app with the cdk.json context, bundling skipped. It synthesises into a temporary folder removed after
 * the test file: an app without `outdir` leaves a `cdk.out*` folder behind in the temporary directory.
 */
export function testApp(): App {
  return new App({ outdir: tempDir('qmt-cdk-'), context: { ...CDK_CONTEXT, ...SKIP_BUNDLING } });
}

/** A stack built from a configuration document, bundling skipped, no validation plugin (tests run cdk-nag themselves). */
export function buildStack(document: EnvironmentConfigInput = MINIMAL_DOCUMENT, name = 'test'): BuiltStack {
  const app = testApp();
  const config = parseEnvironmentConfig(name, document);
  const stack = new QmtStack(app, config.stackName, { config });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The app as `cdk synth -c env=<name>` builds it (cdk-nag registered), bundling skipped. */
export function buildApp(name: string, extraContext: Record<string, unknown> = {}): BuiltStack {
  const { app, stack } = createQmtApp({
    outdir: tempDir('qmt-cdk-'),
    context: { ...CDK_CONTEXT, ...SKIP_BUNDLING, env: name, ...extraContext },
  });
  return { app, stack, template: Template.fromStack(stack) };
}

export type CfnResource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };

export function resources(template: Template, type?: string): Record<string, CfnResource> {
  const all = template.toJSON().Resources as Record<string, CfnResource>;
  return Object.fromEntries(Object.entries(all).filter(([, resource]) => !type || resource.Type === type));
}

export function logicalId(construct: IConstruct): string {
  const child = construct.node.defaultChild ?? construct;
  return Stack.of(construct).getLogicalId(child as never);
}

/**
 * A resource reference as one readable string: `{ Ref: X }` and `{ Fn::GetAtt: [X, 'Arn'] }` become `X`,
 * an `Fn::Join` its parts joined with `${X}` for references, a literal stays as it is.
 */
export function describeReference(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return object.Ref;
    const getAtt = object['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return String(getAtt[0]);
    const join = object['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      return (join[1] as unknown[])
        .map((part) => (typeof part === 'string' ? part : `\${${describeReference(part)}}`))
        .join(String(join[0]));
    }
  }
  return JSON.stringify(value);
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every statement of every inline policy attached to the role with logical id `roleId`. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      ((policy.Properties?.Roles as unknown[]) ?? []).some((role) => describeReference(role) === roleId),
    )
    .flatMap(
      (policy) =>
        (policy.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [],
    );
}

/** Actions per resource granted to `roleId`: `{ ThresholdsTable…: ['dynamodb:GetItem', …] }`, sorted. */
export function grantsOf(template: Template, roleId: string): Record<string, string[]> {
  const grants: Record<string, Set<string>> = {};
  for (const statement of roleStatements(template, roleId)) {
    if (statement.Effect !== 'Allow')
      throw new Error(`unexpected ${statement.Effect} statement on ${roleId}`);
    const actions = [statement.Action].flat();
    const targets = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const target of targets) {
      const key = describeReference(target);
      grants[key] ??= new Set();
      for (const action of actions) grants[key].add(action);
    }
  }
  return Object.fromEntries(
    Object.entries(grants)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, actions]) => [key, [...actions].sort()]),
  );
}
