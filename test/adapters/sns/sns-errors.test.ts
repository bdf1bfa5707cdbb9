import {
  AuthorizationErrorException,
  BatchRequestTooLongException,
  InternalErrorException,
  KMSThrottlingException,
  NotFoundException,
  ThrottledException,
} from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import {
  isBatchShapeError,
  isTransientSnsError,
  snsErrorReason,
} from '../../../lib/adapters/sns/sns-errors.ts';

const meta = { $metadata: {} };

describe('isTransientSnsError', () => {
  it.each([
    new ThrottledException({ message: 'x', ...meta }),
    new KMSThrottlingException({ message: 'x', ...meta }),
    new InternalErrorException({ message: 'x', ...meta }),
    Object.assign(new Error('x'), { name: 'Throttling' }),
    Object.assign(new Error('x'), { name: 'TimeoutError' }),
    Object.assign(new Error('x'), { $metadata: { httpStatusCode: 502 } }),
    Object.assign(new Error('x'), { code: 'ETIMEDOUT' }),
  ])('retries %s', (error) => {
    expect(isTransientSnsError(error)).toBe(true);
  });

  it.each([
    new AuthorizationErrorException({ message: 'x', ...meta }),
    new NotFoundException({ message: 'x', ...meta }),
    new BatchRequestTooLongException({ message: 'x', ...meta }),
    new Error('plain'),
    'a string',
    undefined,
  ])('does not retry %s', (error) => {
    expect(isTransientSnsError(error)).toBe(false);
  });
});

describe('isBatchShapeError', () => {
  it('tells batch-content errors from topic errors', () => {
    expect(isBatchShapeError(new BatchRequestTooLongException({ message: 'x', ...meta }))).toBe(true);
    expect(isBatchShapeError(new AuthorizationErrorException({ message: 'x', ...meta }))).toBe(false);
  });
});

describe('snsErrorReason', () => {
  it('is name and message, capped', () => {
    expect(snsErrorReason(new ThrottledException({ message: 'Rate exceeded', ...meta }))).toBe(
      'ThrottledException: Rate exceeded',
    );
    expect(snsErrorReason('boom')).toBe('Error: boom');
    expect(snsErrorReason(new Error('y'.repeat(1_000))).length).toBe(300);
  });
});
