/**
 * Which DynamoDB failures are worth another try. Throttling, server faults and lost connections are;
 * validation, missing tables and failed conditions are not (retrying cannot change their answer).
 */
import { isTransientAwsError } from '../aws-errors.ts';

export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error;
}

/** The SDK's classification (see `isTransientAwsError`), named for the DynamoDB adapters. */
export function isRetryableDynamoDbError(error: unknown): boolean {
  return isTransientAwsError(error);
}
