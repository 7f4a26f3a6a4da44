import { describe, expect, it } from '@jest/globals';

import {
  AdmissionReviewError,
  admissionReviewResponse,
  jsonPatchEscape,
  parseAdmissionReview,
} from './admission-review.js';

const REQUEST = {
  uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'apps',
  operation: 'CREATE',
  userInfo: { username: 'admin' },
  object: { metadata: { name: 'p' } },
};

describe('jsonPatchEscape', () => {
  it('escapes ~ before / (RFC 6901)', () => {
    expect(jsonPatchEscape('s3seal.io/status')).toBe('s3seal.io~1status');
    expect(jsonPatchEscape('a~b')).toBe('a~0b');
    // `~1` in the input must not turn into `/` on the way back: `~` is escaped first.
    expect(jsonPatchEscape('~1/')).toBe('~01~1');
    expect(jsonPatchEscape('plain')).toBe('plain');
  });
});

describe('parseAdmissionReview', () => {
  it('returns the request of a v1 AdmissionReview', () => {
    const request = parseAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: REQUEST,
    });

    expect(request).toEqual(REQUEST);
  });

  it.each([
    ['not an object', []],
    ['v1beta1', { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: REQUEST }],
    ['another kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: REQUEST }],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
    [
      'no uid',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...REQUEST, uid: '' } },
    ],
    [
      'bad operation',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...REQUEST, operation: 'X' } },
    ],
    [
      'no kind',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { ...REQUEST, kind: 'Pod' } },
    ],
  ])('refuses %s', (_name, body) => {
    expect(() => parseAdmissionReview(body)).toThrow(AdmissionReviewError);
  });
});

describe('admissionReviewResponse', () => {
  it('encodes a patch as base64 JSON with its type', () => {
    const patch = [{ op: 'add' as const, path: '/metadata/labels', value: { a: 'b' } }];

    const review = admissionReviewResponse('u1', { allowed: true, patch, warnings: ['careful'] });

    expect(review).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'u1',
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
        warnings: ['careful'],
      },
    });
  });

  it('leaves out an empty patch', () => {
    expect(admissionReviewResponse('u1', { allowed: true, patch: [] }).response).toEqual({
      uid: 'u1',
      allowed: true,
    });
  });

  it('encodes a denial as a Failure status', () => {
    const review = admissionReviewResponse('u1', {
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'no policy' },
    });

    expect(review.response).toEqual({
      uid: 'u1',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'no policy', status: 'Failure' },
    });
  });
});
