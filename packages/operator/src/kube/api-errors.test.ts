import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';

import { describeApiError, isAlreadyExists, isConflict, isGone, isNotFound, statusOf } from './api-errors.js';

/** As client-node builds it: the response body stays the raw JSON text of a metav1.Status. */
function apiException(code: number, status: Record<string, unknown> | undefined): ApiException<unknown> {
  const body =
    status === undefined ? undefined : JSON.stringify({ kind: 'Status', apiVersion: 'v1', ...status });
  return new ApiException(code, 'Unknown API Status Code!', body, { 'content-type': 'application/json' });
}

describe('status classification', () => {
  it('reads ApiException.code', () => {
    const err = apiException(404, { reason: 'NotFound', message: 'secrets "kek" not found', code: 404 });
    expect(statusOf(err)).toBe(404);
    expect(isNotFound(err)).toBe(true);
    expect(isConflict(err)).toBe(false);
  });

  it('tells AlreadyExists from Conflict by the Status reason', () => {
    const exists = apiException(409, { reason: 'AlreadyExists', code: 409 });
    const conflict = apiException(409, { reason: 'Conflict', code: 409 });
    expect([isAlreadyExists(exists), isConflict(exists)]).toEqual([true, false]);
    expect([isAlreadyExists(conflict), isConflict(conflict)]).toEqual([false, true]);
  });

  it('reads statusCode from the Error client-node Watch throws', () => {
    const err = Object.assign(new Error('Gone'), { statusCode: 410 });
    expect(statusOf(err)).toBe(410);
    expect(isGone(err)).toBe(true);
  });

  it('reads code from a Status object a watch sends as an ERROR event', () => {
    expect(isGone({ kind: 'Status', code: 410, reason: 'Expired' })).toBe(true);
  });

  it.each([
    ['a DOMException code', new DOMException('timed out', 'TimeoutError')],
    ['a Node system error code', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a number outside HTTP statuses', { code: 23 }],
    ['undefined', undefined],
    ['a string', 'boom'],
  ])('finds no status in %s', (_label, err) => {
    expect(statusOf(err)).toBeUndefined();
  });
});

describe('describeApiError', () => {
  it('gives status, reason and message on one line', () => {
    const err = apiException(404, { reason: 'NotFound', message: 'secrets "kek"\nnot found' });
    expect(describeApiError(err)).toBe('HTTP 404: NotFound: secrets "kek" not found');
  });

  it('leaves out the body and headers that ApiException.message carries', () => {
    const err = new ApiException(
      422,
      'Unknown API Status Code!',
      JSON.stringify({
        reason: 'Invalid',
        message: 'Secret "kek" is invalid',
        data: { kek: 'c2VjcmV0LWtleQ==' },
      }),
      { authorization: 'Bearer token-value' },
    );
    expect(err.message).toContain('c2VjcmV0LWtleQ==');
    const described = describeApiError(err);
    expect(described).toBe('HTTP 422: Invalid: Secret "kek" is invalid');
    expect(described).not.toContain('c2VjcmV0LWtleQ==');
    expect(described).not.toContain('token-value');
  });

  it('copes with a 401, whose body client-node leaves undefined', () => {
    expect(describeApiError(apiException(401, undefined))).toBe('HTTP 401');
  });

  it('truncates long messages', () => {
    const err = apiException(500, { message: 'x'.repeat(1000) });
    expect(describeApiError(err).length).toBeLessThan(260);
  });

  it('names transport errors by code', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    expect(describeApiError(err)).toBe('Error: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:6443');
    expect(describeApiError(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe('HTTP 410: Gone');
  });
});
