// SigV4 parsing and verification under random and mutated input: the Authorization header,
// presigned query parameters, the request the signature covers, the clock. Every failure is an
// S3Error; a changed signature, or a change to anything signed, is never accepted.
// S3SEAL_FUZZ_RUNS raises the run count (make fuzz).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isS3Error } from '../s3/errors.js';
import { toAmzDate } from './amz-date.js';
import {
  buildCanonicalRequest,
  canonicalQueryString,
  canonicalUris,
  parseQuery,
  percentDecode,
} from './canonical-request.js';
import { parseAuthorizationHeader } from './parse-authorization.js';
import { parsePresigned } from './presigned.js';
import { deriveSigningKey, signatureOf } from './signing-key.js';
import { requestStringToSign } from './string-to-sign.js';
import type { RawRequest } from './types.js';
import { verifyRequest } from './verify-request.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);

const ACCESS_KEY = 'AKIDFUZZ';
const SECRET = 'fuzz/secret+key=';
const REGION = 'us-east-1';
const credentials = {
  secretFor: (id: string): string | undefined => (id === ACCESS_KEY ? SECRET : undefined),
};
const NOW = new Date('2026-06-15T12:00:00Z');
const MINUTE = 60_000;

interface Unsigned {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
}

function scopeOf(at: Date): string {
  return `${toAmzDate(at).slice(0, 8)}/${REGION}/s3/aws4_request`;
}

function signatureFor(
  raw: RawRequest,
  signedHeaders: string[],
  query: string,
  payloadHash: string,
  at: Date,
): string {
  const canonical = buildCanonicalRequest(raw, {
    method: raw.method,
    canonicalUri: raw.rawPath === '' ? '/' : raw.rawPath,
    canonicalQuery: query,
    signedHeaders,
    payloadHash,
  });
  const key = deriveSigningKey(SECRET, toAmzDate(at).slice(0, 8), REGION, 's3');
  return signatureOf(key, requestStringToSign(toAmzDate(at), scopeOf(at), canonical));
}

/** Signs with the Authorization header, as an SDK does (every header signed, sorted). */
function signHeader(req: Unsigned, at = NOW): RawRequest {
  const headers: Record<string, string> = {
    ...req.headers,
    host: 's3seal.local',
    'x-amz-date': toAmzDate(at),
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
  };
  const raw: RawRequest = { method: req.method, rawPath: req.rawPath, rawQuery: req.rawQuery, headers };
  const signed = Object.keys(headers).sort();
  const signature = signatureFor(
    raw,
    signed,
    canonicalQueryString(parseQuery(req.rawQuery)),
    'UNSIGNED-PAYLOAD',
    at,
  );
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scopeOf(at)}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return raw;
}

/** A presigned URL (every header signed, UNSIGNED-PAYLOAD). */
function presign(req: Unsigned, at = NOW, expires = '900'): RawRequest {
  const signed = [...Object.keys(req.headers), 'host'].sort();
  const auth = [
    'X-Amz-Algorithm=AWS4-HMAC-SHA256',
    `X-Amz-Credential=${encodeURIComponent(`${ACCESS_KEY}/${scopeOf(at)}`)}`,
    `X-Amz-Date=${toAmzDate(at)}`,
    `X-Amz-Expires=${expires}`,
    `X-Amz-SignedHeaders=${signed.join('%3B')}`,
  ].join('&');
  const rawQuery = req.rawQuery === '' ? auth : `${req.rawQuery}&${auth}`;
  const raw: RawRequest = {
    method: req.method,
    rawPath: req.rawPath,
    rawQuery,
    headers: { ...req.headers, host: 's3seal.local' },
  };
  const signature = signatureFor(
    raw,
    signed,
    canonicalQueryString(parseQuery(rawQuery)),
    'UNSIGNED-PAYLOAD',
    at,
  );
  raw.rawQuery = `${rawQuery}&X-Amz-Signature=${signature}`;
  return raw;
}

type Outcome = { ok: true } | { ok: false; code: string };

function verify(raw: RawRequest, now = NOW): Outcome {
  try {
    verifyRequest(raw, credentials, { now });
    return { ok: true };
  } catch (err: unknown) {
    if (isS3Error(err)) return { ok: false, code: err.code };
    throw err;
  }
}

// --- generators -------------------------------------------------------------------------

const segmentChar = fc.constantFrom(
  ..."abcXYZ019-._~!$&'()*+,;=:@ %/".split(''),
  '%2F',
  '%252F',
  '%2e',
  '%2E%2E',
  '%00',
  '%C0%AF',
  '%FF',
  '%E2%82%AC',
  '%zz',
  '..',
  '.',
);
const rawPath = fc
  .array(
    fc.array(segmentChar, { minLength: 0, maxLength: 6 }).map((c) => c.join('')),
    { minLength: 1, maxLength: 4 },
  )
  .map((segments) => `/bucket/${segments.join('/')}`);
const queryPart = fc
  .tuple(
    fc.constantFrom('uploadId', 'partNumber', 'versionId', 'prefix', 'delete', 'x', 'a+b', 'a%20b', '%41'),
    fc.option(fc.string({ unit: fc.constantFrom(...'ab1+%20=/'.split(''), '%2B', '%3D'), maxLength: 6 }), {
      nil: undefined,
    }),
  )
  .map(([name, value]) => (value === undefined ? name : `${name}=${value}`));
const rawQuery = fc.array(queryPart, { maxLength: 4 }).map((parts) => parts.join('&'));
const request = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE', 'POST'),
  rawPath,
  rawQuery,
  headers: fc.dictionary(
    fc.constantFrom('x-amz-meta-a', 'x-amz-copy-source', 'content-type', 'range'),
    fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
    {
      maxKeys: 2,
    },
  ),
});

/** One character of `text` replaced, inserted or deleted. */
const edit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('replace', 'insert', 'delete'),
  char: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
});
function applyEdit(text: string, e: { at: number; kind: string; char: string }): string {
  const at = e.at % (text.length + (e.kind === 'insert' ? 1 : 0) || 1);
  if (e.kind === 'insert') return text.slice(0, at) + e.char + text.slice(at);
  if (e.kind === 'delete') return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + e.char + text.slice(at + 1);
}

function decodedPath(path: string): string {
  return canonicalUris(path).includes(path) ? percentDecode(path, false).toString('hex') : path;
}

describe('SigV4 (property)', () => {
  it('parseAuthorizationHeader: random text is parsed or refused with an S3Error', () => {
    const field = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom(
        'Credential=AK/20260615/us-east-1/s3/aws4_request',
        'SignedHeaders=host;x-amz-date',
        `Signature=${'a'.repeat(64)}`,
        'Credential=',
        'SignedHeaders=;;',
        'Signature',
      ),
    );
    fc.assert(
      fc.property(
        fc.array(field, { maxLength: 5 }),
        fc.constantFrom(',', ', ', ' ,', ';', ''),
        (fields, sep) => {
          try {
            const parsed = parseAuthorizationHeader(`AWS4-HMAC-SHA256 ${fields.join(sep)}`);
            expect(parsed.credential.scope.endsWith('/s3/aws4_request')).toBe(true);
            expect(parsed.signedHeaders.length).toBeGreaterThan(0);
          } catch (err: unknown) {
            expect(isS3Error(err, 'AuthorizationHeaderMalformed')).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a correctly signed random request verifies, header and presigned', () => {
    fc.assert(
      fc.property(request, (req) => {
        expect(verify(signHeader(req))).toEqual({ ok: true });
        expect(verify(presign(req))).toEqual({ ok: true });
      }),
      { numRuns: RUNS },
    );
  });

  it('a mutated Authorization header never verifies unless it still says the same thing', () => {
    fc.assert(
      fc.property(request, fc.array(edit, { minLength: 1, maxLength: 3 }), (req, edits) => {
        const raw = signHeader(req);
        const original = raw.headers['authorization'] as string;
        const mutated = edits.reduce(applyEdit, original);
        const out = verify({ ...raw, headers: { ...raw.headers, authorization: mutated } });
        if (out.ok) {
          // Only whitespace around the separators may change.
          expect(parseAuthorizationHeader(mutated)).toEqual(parseAuthorizationHeader(original));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('any change to the signature itself is refused', () => {
    fc.assert(
      fc.property(
        request,
        fc.boolean(),
        fc.array(edit, { minLength: 1, maxLength: 2 }),
        (req, isPresigned, edits) => {
          const raw = isPresigned ? presign(req) : signHeader(req);
          if (isPresigned) {
            const m = /X-Amz-Signature=([0-9a-f]{64})$/.exec(raw.rawQuery)!;
            const changed = edits.reduce(applyEdit, m[1]!);
            if (changed === m[1]) return;
            const out = verify({
              ...raw,
              rawQuery: raw.rawQuery.slice(0, m.index) + `X-Amz-Signature=${encodeURIComponent(changed)}`,
            });
            expect(out.ok).toBe(false);
          } else {
            const header = raw.headers['authorization'] as string;
            const at = header.indexOf('Signature=') + 'Signature='.length;
            const changed = edits.reduce(applyEdit, header.slice(at));
            // Whitespace around a field is allowed (the parser trims it): not a change.
            if (changed.trim() === header.slice(at)) return;
            const out = verify({
              ...raw,
              headers: { ...raw.headers, authorization: header.slice(0, at) + changed },
            });
            expect(out.ok).toBe(false);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a mutated path, query, method or signed header is refused unless it names the same thing', () => {
    fc.assert(
      fc.property(
        request,
        fc.boolean(),
        fc.constantFrom('path', 'query', 'method', 'header'),
        fc.array(edit, { minLength: 1, maxLength: 2 }),
        (req, isPresigned, where, edits) => {
          const raw = isPresigned ? presign(req) : signHeader(req);
          const changed: RawRequest = { ...raw, headers: { ...raw.headers } };
          if (where === 'path') changed.rawPath = edits.reduce(applyEdit, raw.rawPath);
          else if (where === 'method') changed.method = edits.reduce(applyEdit, raw.method);
          else if (where === 'header') changed.headers['host'] = edits.reduce(applyEdit, 's3seal.local');
          else {
            // Mutate the query before the auth parameters (the presigned ones are checked above).
            const split = isPresigned ? raw.rawQuery.indexOf('X-Amz-Algorithm') : raw.rawQuery.length;
            changed.rawQuery =
              edits.reduce(applyEdit, raw.rawQuery.slice(0, split)) + raw.rawQuery.slice(split);
          }
          const out = verify(changed);
          if (!out.ok) return;
          // Accepted: then it is the same request, byte for byte once decoded.
          expect(changed.method).toBe(raw.method);
          expect(decodedPath(changed.rawPath)).toBe(decodedPath(raw.rawPath));
          const q = (r: RawRequest): string => canonicalQueryString(parseQuery(r.rawQuery));
          expect(q(changed)).toBe(q(raw));
          expect(String(changed.headers['host']).trim()).toBe('s3seal.local');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('clock skew beyond 15 minutes is RequestTimeTooSkewed; within, the request verifies', () => {
    fc.assert(
      fc.property(request, fc.integer({ min: -120 * MINUTE, max: 120 * MINUTE }), (req, offsetMs) => {
        const at = new Date(Math.floor((NOW.getTime() + offsetMs) / 1000) * 1000);
        const out = verify(signHeader(req, at));
        if (Math.abs(NOW.getTime() - at.getTime()) > 15 * MINUTE) {
          expect(out).toEqual({ ok: false, code: 'RequestTimeTooSkewed' });
        } else expect(out).toEqual({ ok: true });
      }),
      { numRuns: RUNS },
    );
  });

  it('X-Amz-Expires: digits up to 604800 accepted, anything else refused; expired is AccessDenied', () => {
    const expires = fc.oneof(
      fc.integer({ min: 0, max: 700_000 }).map(String),
      fc.constantFrom(
        '604800',
        '604801',
        '-1',
        '1e3',
        '0x10',
        ' 90',
        '90 ',
        '',
        '00000000900',
        '99999999999',
        '1.5',
        '٣',
      ),
    );
    fc.assert(
      fc.property(request, expires, fc.integer({ min: 0, max: 800_000 }), (req, exp, ageSeconds) => {
        const signedAt = new Date(NOW.getTime() - ageSeconds * 1000);
        const out = verify(presign(req, signedAt, encodeURIComponent(exp)));
        const isNumber = /^\d{1,10}$/.test(exp);
        if (!isNumber || Number(exp) > 604_800) {
          expect(out).toEqual({ ok: false, code: 'AuthorizationQueryParametersError' });
        } else if (ageSeconds > Number(exp)) expect(out).toEqual({ ok: false, code: 'AccessDenied' });
        else expect(out).toEqual({ ok: true });
      }),
      { numRuns: RUNS },
    );
  });

  it('presigned query parameters: duplicates and random values are refused with an S3Error', () => {
    const names = [
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-SignedHeaders',
      'X-Amz-Signature',
      'X-Amz-Content-Sha256',
      'x-amz-content-sha256',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...names), fc.string({ maxLength: 40 })), { maxLength: 10 }),
        (pairs) => {
          const raw = pairs.map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join('&');
          try {
            parsePresigned(parseQuery(raw), 604_800);
          } catch (err: unknown) {
            expect(isS3Error(err)).toBe(true);
          }
          const out = verify({
            method: 'GET',
            rawPath: '/b/k',
            rawQuery: `X-Amz-Algorithm=AWS4-HMAC-SHA256&${raw}`,
            headers: { host: 's3seal.local' },
          });
          expect(out.ok).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a repeated auth parameter of a valid presigned URL is refused', () => {
    fc.assert(
      fc.property(
        request,
        fc.constantFrom(
          'X-Amz-Algorithm',
          'X-Amz-Credential',
          'X-Amz-Date',
          'X-Amz-Expires',
          'X-Amz-SignedHeaders',
          'X-Amz-Signature',
        ),
        fc.boolean(),
        (req, name, isFirst) => {
          const raw = presign(req);
          const param = raw.rawQuery.split('&').find((p) => p.startsWith(`${name}=`))!;
          const rawQuery = isFirst ? `${param}&${raw.rawQuery}` : `${raw.rawQuery}&${param}`;
          expect(verify({ ...raw, rawQuery })).toEqual({
            ok: false,
            code: 'AuthorizationQueryParametersError',
          });
        },
      ),
      { numRuns: RUNS },
    );
  });
});
