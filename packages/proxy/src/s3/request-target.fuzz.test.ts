// Object keys through the verifier and request-target.ts: whatever tricks the raw path holds
// (%2F, %252F, overlong UTF-8, invalid UTF-8, NUL, `.` and `..` segments), a request the
// signature accepts is either refused, or addresses exactly the bucket and key the client's
// signed path decodes to, and the upstream path the proxy signs decodes to that key again.
// `.` and `..` stay in keys as S3 keeps them (never resolved, so never another object); MinIO
// refuses such names itself (test/integration/bad-input.test.ts).
// S3SEAL_FUZZ_RUNS raises the run count (make fuzz).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalUris, percentDecode } from '../auth/canonical-request.js';
import { encodeKeyPath } from '../upstream/uri-encode.js';
import { isS3Error } from './errors.js';
import { parseRequestTarget, type RequestTarget } from './request-target.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);

const piece = fc.constantFrom(
  ..."abZ09-._~!$&'()*+,;=:@ ".split(''),
  '%2F',
  '%2f',
  '%252F',
  '%25',
  '%2E',
  '%2e%2E',
  '%00',
  '%C0%AF',
  '%E0%80%AF',
  '%FF',
  '%ED%A0%80',
  '%E2%82%AC',
  '%F0%9F%98%80',
  '%zz',
  '%',
  '.',
  '..',
  '/',
  '//',
  '%5C',
  '\\',
);
const rawPath = fc.array(piece, { maxLength: 14 }).map((p) => `/${p.join('')}`);

function target(path: string, host = 's3seal.local', domains: string[] = []): RequestTarget | string {
  try {
    return parseRequestTarget(path, host, domains);
  } catch (err: unknown) {
    if (isS3Error(err)) return err.code;
    throw err;
  }
}

describe('request targets (property)', () => {
  it('refuses, or names exactly the bucket and key the signed path decodes to', () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const t = target(path);
        if (typeof t === 'string') {
          expect(['InvalidURI', 'InvalidRequest']).toContain(t);
          return;
        }
        // The verifier checks the signature over the path as sent (or its re-encoding, which
        // decodes to the same bytes): the bytes the client signed for.
        for (const uri of canonicalUris(path)) {
          expect(percentDecode(uri, false).equals(percentDecode(path, false))).toBe(true);
        }
        const signedBytes = percentDecode(path, false);
        const named = `/${t.bucket ?? ''}${t.key === undefined ? '' : `/${t.key}`}`;
        expect(
          Buffer.from(named, 'utf8').equals(signedBytes) || `${named}/` === signedBytes.toString('utf8'),
        ).toBe(true);
        expect(t.bucket ?? '').not.toContain('/');
        // What goes upstream decodes to the same key.
        if (t.key !== undefined)
          expect(percentDecode(encodeKeyPath(t.key), false).toString('utf8')).toBe(t.key);
      }),
      { numRuns: RUNS },
    );
  });

  it('virtual-hosted: the whole path is the key, under the same rules', () => {
    fc.assert(
      fc.property(rawPath, (path) => {
        const t = target(path, 'bucket.s3.local:8080', ['s3.local']);
        if (typeof t === 'string') return;
        expect(t.bucket).toBe('bucket');
        expect(`/${t.key ?? ''}`).toBe(percentDecode(path, false).toString('utf8'));
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['/bucket%2Fkey', 'InvalidURI'],
    ['/a%2Fb/key', 'InvalidURI'],
    ['/bucket/%C0%AF', 'InvalidURI'],
    ['/bucket/%FF', 'InvalidURI'],
    ['/bucket/%ED%A0%80', 'InvalidURI'],
    ['/bucket/a%zz', 'InvalidURI'],
    ['%2Fbucket/key', 'InvalidRequest'],
  ])('%s → %s', (path, code) => {
    expect(target(path)).toBe(code);
  });

  it.each([
    ['/bucket/a%2Fb', 'bucket', 'a/b'],
    ['/bucket/a%252Fb', 'bucket', 'a%2Fb'],
    ['/bucket/a%00b', 'bucket', 'a\u0000b'],
    ['/bucket/...', 'bucket', '...'],
    ['/bucket/a..b/.c', 'bucket', 'a..b/.c'],
    ['/bucket//key', 'bucket', '/key'],
    ['/bucket/a/%2E%2E/b', 'bucket', 'a/../b'],
    ['/bucket/./key', 'bucket', './key'],
  ])('%s → %s %j', (path, bucket, key) => {
    expect(target(path)).toMatchObject({ bucket, key });
  });
});
