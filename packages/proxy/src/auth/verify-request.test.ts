// verifyRequest against requests signed by the AWS SDK's own SigV4 signer (the one
// @aws-sdk/client-s3 and its presigner use), then bent in the ways clients and attackers bend them.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { S3Client } from '@aws-sdk/client-s3';
import { toAmzDate } from './amz-date.js';
import { buildCanonicalRequest, canonicalQueryString, parseQuery } from './canonical-request.js';
import { deriveSigningKey, signatureOf } from './signing-key.js';
import { requestStringToSign } from './string-to-sign.js';
import type { RawRequest, VerifiedRequest } from './types.js';
import { verifyRequest } from './verify-request.js';

interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
}
interface SdkSigner {
  sign(request: SdkRequest, options?: { signingDate?: Date }): Promise<SdkRequest>;
  presign(request: SdkRequest, options?: { signingDate?: Date; expiresIn?: number }): Promise<SdkRequest>;
}

const ACCESS_KEY = 'AKIDS3SEALTEST';
const SECRET = 'secret/with+odd=chars';
const credentials = {
  secretFor: (id: string): string | undefined => (id === ACCESS_KEY ? SECRET : undefined),
};
const NOW = new Date('2026-03-01T12:00:00Z');

async function sdkSigner(region = 'eu-west-3', secretAccessKey = SECRET): Promise<SdkSigner> {
  const client = new S3Client({ region, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey } });
  return (await client.config.signer()) as unknown as SdkSigner;
}

/** What the AWS SDKs send in the query: encodeURIComponent plus !'()* (smithy's escapeUri). */
const escapeUri = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function toRaw(signed: SdkRequest): RawRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value;
  return {
    method: signed.method,
    rawPath: signed.path,
    rawQuery: Object.entries(signed.query)
      .map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`)
      .join('&'),
    headers,
  };
}

function base(overrides: Partial<SdkRequest> = {}): SdkRequest {
  return {
    method: 'GET',
    protocol: 'http:',
    hostname: 's3seal.local',
    port: 8080,
    path: '/bucket/key.txt',
    query: {},
    headers: { host: 's3seal.local:8080', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    ...overrides,
  };
}

async function signed(overrides: Partial<SdkRequest> = {}, at = NOW, region?: string): Promise<RawRequest> {
  return toRaw(await (await sdkSigner(region)).sign(base(overrides), { signingDate: at }));
}

async function presigned(
  overrides: Partial<SdkRequest> = {},
  at = NOW,
  expiresIn = 900,
): Promise<RawRequest> {
  return toRaw(await (await sdkSigner()).presign(base(overrides), { signingDate: at, expiresIn }));
}

function verify(req: RawRequest, now = NOW): VerifiedRequest {
  return verifyRequest(req, credentials, { now });
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err: unknown) {
    return `${(err as { code?: string }).code}/${(err as { status?: number }).status}`;
  }
  return 'ok';
}

const minutes = (n: number): Date => new Date(NOW.getTime() + n * 60_000);

// Requests signed once, up front, for the synchronous assertions below.
const signedSync: Record<string, RawRequest> = {};
beforeAll(async () => {
  const chunked = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '11' };
  const put = (sha: string, extra: Record<string, string> = {}): Partial<SdkRequest> => ({
    method: 'PUT',
    headers: { host: 'h', 'x-amz-content-sha256': sha, ...extra },
  });
  const trailer = { ...chunked, 'x-amz-trailer': 'x-amz-checksum-crc32' };
  const jobs: [string, Partial<SdkRequest>, Date][] = [
    ['past14', {}, minutes(-14)],
    ['past16', {}, minutes(-16)],
    ['future16', {}, minutes(16)],
    ['future14', {}, minutes(14)],
    ['badSha', put('abc'), NOW],
    ['sigv4aStreaming', put('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD', chunked), NOW],
    ['trailerWithoutName', put('STREAMING-UNSIGNED-PAYLOAD-TRAILER', chunked), NOW],
    [
      'trailerUnknown',
      put('STREAMING-UNSIGNED-PAYLOAD-TRAILER', { ...chunked, 'x-amz-trailer': 'x-amz-checksum-md5' }),
      NOW,
    ],
    [
      'badDecodedLength',
      put('STREAMING-UNSIGNED-PAYLOAD-TRAILER', { ...trailer, 'x-amz-decoded-content-length': '-1' }),
      NOW,
    ],
  ];
  for (const [name, overrides, at] of jobs) signedSync[name] = await signed(overrides, at);
});

describe('header authentication', () => {
  it('accepts what the SDK signs and reports key, region, time and the signature chain seed', async () => {
    const req = await signed();
    const result = verify(req);
    expect(result).toMatchObject({
      accessKeyId: ACCESS_KEY,
      region: 'eu-west-3',
      isPresigned: false,
      payload: 'unsigned',
      signedAt: NOW,
    });
    expect(String(req.headers.authorization)).toContain(`Signature=${result.signingContext.seedSignature}`);
    expect(result.signingContext).toMatchObject({
      scope: '20260301/eu-west-3/s3/aws4_request',
      amzDate: '20260301T120000Z',
    });
  });

  it('accepts any region in the scope and returns it', async () => {
    expect(verify(await signed({}, NOW, 'moon-base-1')).region).toBe('moon-base-1');
  });

  it('refuses an unknown key, a wrong secret and a flipped signature with 403s', async () => {
    const req = await signed();
    expect(codeOf(() => verifyRequest(req, { secretFor: () => undefined }, { now: NOW }))).toBe(
      'InvalidAccessKeyId/403',
    );
    expect(codeOf(() => verifyRequest(req, { secretFor: () => 'other' }, { now: NOW }))).toBe(
      'SignatureDoesNotMatch/403',
    );
    const auth = String(req.headers.authorization);
    const last = auth.at(-1) === '0' ? '1' : '0';
    expect(
      codeOf(() => verify({ ...req, headers: { ...req.headers, authorization: auth.slice(0, -1) + last } })),
    ).toBe('SignatureDoesNotMatch/403');
  });

  it('says what it signed when the signature does not match', async () => {
    const req = await signed();
    try {
      verify({ ...req, rawPath: '/bucket/other.txt' });
      throw new Error('verified');
    } catch (err: unknown) {
      expect((err as { fields: Record<string, string> }).fields).toMatchObject({
        AWSAccessKeyId: ACCESS_KEY,
        StringToSign: expect.stringContaining('AWS4-HMAC-SHA256\n20260301T120000Z\n'),
        SignatureProvided: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    }
  });

  it('allows 15 minutes of clock skew either way, and no more', () => {
    expect(codeOf(() => verify(signedSync.past14!))).toBe('ok');
    expect(codeOf(() => verify(signedSync.past16!))).toBe('RequestTimeTooSkewed/403');
    expect(codeOf(() => verify(signedSync.future16!))).toBe('RequestTimeTooSkewed/403');
    expect(codeOf(() => verify(signedSync.future14!))).toBe('ok');
    expect(
      codeOf(() => verifyRequest(signedSync.past16!, credentials, { now: NOW, maxSkewMs: 20 * 60_000 })),
    ).toBe('ok');
  });

  it('refuses unsigned requests and other signature schemes', async () => {
    const req = await signed();
    const withAuth = (authorization: string): RawRequest => ({
      ...req,
      headers: { ...req.headers, authorization },
    });
    expect(codeOf(() => verify({ ...req, headers: { host: 'x' } }))).toBe('AccessDenied/403');
    expect(codeOf(() => verify(withAuth('AWS AKIDS3SEALTEST:frJIUN8DYpKDtOLCwo//yllqDzg=')))).toBe(
      'InvalidRequest/400',
    );
    expect(
      codeOf(() =>
        verify(
          withAuth(
            'AWS4-ECDSA-P256-SHA256 Credential=AK/20260301/s3/aws4_request, SignedHeaders=host, Signature=3045',
          ),
        ),
      ),
    ).toBe('InvalidRequest/400');
    expect(codeOf(() => verify(withAuth('Bearer abc')))).toBe('InvalidRequest/400');
    expect(
      codeOf(() =>
        verify({
          ...req,
          headers: { host: 'x' },
          rawQuery: 'AWSAccessKeyId=AK&Expires=1700000000&Signature=abc',
        }),
      ),
    ).toBe('InvalidRequest/400');
  });

  it('refuses a malformed Authorization header with AuthorizationHeaderMalformed', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization);
    const withAuth = (authorization: string): RawRequest => ({
      ...req,
      headers: { ...req.headers, authorization },
    });
    for (const bad of [
      auth.replace(/, Signature=[0-9a-f]+/, ''),
      auth.replace('SignedHeaders=', 'Signedheaders='),
      auth.replace('/s3/', '/ec2/'),
      auth.replace('/aws4_request', '/aws5_request'),
      auth.replace(`${ACCESS_KEY}/`, `${ACCESS_KEY}/extra/`),
      auth.replace('/20260301/', '/2026031/'),
      auth.replace('/20260301/', '/20260302/'),
      auth.replace('SignedHeaders=', 'SignedHeaders=Host;'),
      auth.replace('SignedHeaders=', 'SignedHeaders=;'),
      `${auth}, Extra=1`,
    ]) {
      expect([bad, codeOf(() => verify(withAuth(bad)))]).toEqual([bad, 'AuthorizationHeaderMalformed/400']);
    }
  });

  it('accepts the Authorization components separated by "," without spaces', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization).replaceAll(', ', ',');
    expect(codeOf(() => verify({ ...req, headers: { ...req.headers, authorization: auth } }))).toBe('ok');
  });

  it('needs a valid x-amz-date or Date, and x-amz-content-sha256', async () => {
    const req = await signed();
    const without = (name: string): RawRequest => {
      const headers = { ...req.headers };
      delete headers[name];
      return { ...req, headers };
    };
    expect(codeOf(() => verify(without('x-amz-date')))).toBe('AccessDenied/403');
    expect(
      codeOf(() => verify({ ...req, headers: { ...req.headers, 'x-amz-date': '2026-03-01T12:00:00Z' } })),
    ).toBe('AccessDenied/403');
    expect(codeOf(() => verify(without('x-amz-content-sha256')))).toBe('InvalidRequest/400');
  });

  it('accepts a request dated by the Date header alone', () => {
    // Hand-signed: the SDK always sends x-amz-date. The string to sign carries the ISO 8601 form.
    const date = 'Sun, 01 Mar 2026 12:00:00 GMT';
    const req: RawRequest = {
      method: 'GET',
      rawPath: '/bucket/key',
      rawQuery: '',
      headers: { host: 'h', date, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    };
    const signedHeaders = ['date', 'host', 'x-amz-content-sha256'];
    const canonical = buildCanonicalRequest(req, {
      method: 'GET',
      canonicalUri: '/bucket/key',
      canonicalQuery: '',
      signedHeaders,
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    const scope = '20260301/us-east-1/s3/aws4_request';
    const signature = signatureOf(
      deriveSigningKey(SECRET, '20260301', 'us-east-1', 's3'),
      requestStringToSign(toAmzDate(new Date(date)), scope, canonical),
    );
    req.headers.authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
    expect(verify(req).signedAt).toEqual(NOW);
  });

  it('refuses a request whose host or x-amz-* headers are not signed', async () => {
    const req = await signed();
    const auth = String(req.headers.authorization);
    expect(
      codeOf(() =>
        verify({
          ...req,
          headers: { ...req.headers, authorization: auth.replace('SignedHeaders=host;', 'SignedHeaders=') },
        }),
      ),
    ).toBe('AccessDenied/403');
    const injected = { ...req, headers: { ...req.headers, 'x-amz-copy-source': '/other/secret' } };
    try {
      verify(injected);
      throw new Error('verified');
    } catch (err: unknown) {
      expect(err).toMatchObject({ code: 'AccessDenied', fields: { HeadersNotSigned: 'x-amz-copy-source' } });
    }
  });

  it('signs the path as sent: no normalisation, no double encoding', async () => {
    for (const path of [
      '//bucket//key',
      '/bucket/a/../b',
      '/bucket/./k',
      '/bucket/a%2Fb',
      '/bucket/%E2%82%AC%20x',
    ]) {
      const req = await signed({ path });
      expect([path, codeOf(() => verify(req))]).toEqual([path, 'ok']);
    }
    const dotted = await signed({ path: '/bucket/a/../b' });
    expect(codeOf(() => verify({ ...dotted, rawPath: '/bucket/b' }))).toBe('SignatureDoesNotMatch/403');
    const slashed = await signed({ path: '/bucket/a%2Fb' });
    expect(codeOf(() => verify({ ...slashed, rawPath: '/bucket/a/b' }))).toBe('SignatureDoesNotMatch/403');
  });

  it('sorts the query itself and reads "+" as a space', async () => {
    const req = await signed({
      path: '/bucket/',
      query: { 'list-type': '2', prefix: 'a b/ü', 'max-keys': '5' },
    });
    expect(req.rawQuery).toContain('prefix=a%20b%2F%C3%BC');
    const reordered = req.rawQuery.split('&').reverse().join('&');
    expect(codeOf(() => verify({ ...req, rawQuery: reordered }))).toBe('ok');
    expect(codeOf(() => verify({ ...req, rawQuery: req.rawQuery.replace('a%20b', 'a+b') }))).toBe('ok');
    expect(codeOf(() => verify({ ...req, rawQuery: req.rawQuery.replace('a%20b', 'a%2Bb') }))).toBe(
      'SignatureDoesNotMatch/403',
    );
    const valueless = await signed({ path: '/bucket/key', query: { uploads: '' } });
    expect(codeOf(() => verify({ ...valueless, rawQuery: 'uploads' }))).toBe('ok');
  });
});

describe('payload declarations', () => {
  const withSha = async (value: string, extra: Record<string, string> = {}): Promise<RawRequest> =>
    signed({ method: 'PUT', headers: { host: 'h', 'x-amz-content-sha256': value, ...extra } });

  it('reads each x-amz-content-sha256 form', async () => {
    const hash = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
    expect(verify(await withSha(hash))).toMatchObject({ payload: 'signed', payloadSha256: hash });
    expect(verify(await withSha(hash.toUpperCase()))).toMatchObject({
      payload: 'signed',
      payloadSha256: hash,
    });
    expect(verify(await withSha('UNSIGNED-PAYLOAD')).payload).toBe('unsigned');
    const chunked = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '11' };
    expect(verify(await withSha('STREAMING-AWS4-HMAC-SHA256-PAYLOAD', chunked))).toMatchObject({
      payload: 'streaming-signed',
      decodedContentLength: 11,
    });
    const trailer = { ...chunked, 'x-amz-trailer': 'x-amz-checksum-crc64nvme' };
    expect(verify(await withSha('STREAMING-UNSIGNED-PAYLOAD-TRAILER', trailer))).toMatchObject({
      payload: 'streaming-unsigned-trailer',
      trailer: 'CRC64NVME',
    });
    expect(verify(await withSha('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', trailer))).toMatchObject({
      payload: 'streaming-signed-trailer',
      trailer: 'CRC64NVME',
      decodedContentLength: 11,
    });
  });

  it('refuses what it cannot honour', () => {
    expect(codeOf(() => verify(signedSync.badSha!))).toBe('InvalidArgument/400');
    expect(codeOf(() => verify(signedSync.sigv4aStreaming!))).toBe('InvalidRequest/400');
    expect(codeOf(() => verify(signedSync.trailerWithoutName!))).toBe('InvalidRequest/400');
    expect(codeOf(() => verify(signedSync.trailerUnknown!))).toBe('InvalidRequest/400');
    expect(codeOf(() => verify(signedSync.badDecodedLength!))).toBe('InvalidArgument/400');
  });
});

describe('presigned URLs', () => {
  it('accepts what the SDK presigner produces (its X-Amz-Content-Sha256 comes lower-cased)', async () => {
    const req = await presigned({ query: { 'x-id': 'GetObject' } });
    expect(req.rawQuery).toContain('x-amz-content-sha256=UNSIGNED-PAYLOAD');
    expect(verify(req)).toMatchObject({ isPresigned: true, payload: 'unsigned', accessKeyId: ACCESS_KEY });
    expect(req.headers.authorization).toBeUndefined();
  });

  // Without X-Amz-Content-Sha256 the payload is UNSIGNED-PAYLOAD: the AWS presigned GET example
  // in sigv4-suite.test.ts carries none and verifies.
  it('takes a signed payload hash from X-Amz-Content-Sha256', async () => {
    const hash = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
    const withHash = await presigned({ method: 'PUT', headers: { host: 'h', 'x-amz-content-sha256': hash } });
    expect(verify(withHash)).toMatchObject({ payload: 'signed', payloadSha256: hash });
  });

  it('refuses expired URLs, URLs from the future and expiries beyond 7 days', async () => {
    const req = await presigned({}, NOW, 600);
    expect(codeOf(() => verify(req, minutes(9)))).toBe('ok');
    expect(codeOf(() => verify(req, minutes(11)))).toBe('AccessDenied/403');
    expect(codeOf(() => verify(req, minutes(-16)))).toBe('AccessDenied/403');
    const week = await presigned({}, NOW, 604800);
    expect(codeOf(() => verify(week, minutes(7 * 24 * 60 - 1)))).toBe('ok');
    expect(codeOf(() => verify(week, minutes(7 * 24 * 60 + 1)))).toBe('AccessDenied/403');
    const tooLong = {
      ...week,
      rawQuery: week.rawQuery.replace('X-Amz-Expires=604800', 'X-Amz-Expires=604801'),
    };
    expect(codeOf(() => verify(tooLong))).toBe('AuthorizationQueryParametersError/400');
    expect(codeOf(() => verifyRequest(req, credentials, { now: NOW, maxPresignedExpirySeconds: 300 }))).toBe(
      'AuthorizationQueryParametersError/400',
    );
  });

  it('refuses tampering and malformed parameters', async () => {
    const req = await presigned({ path: '/bucket/key.txt' });
    const edit = (from: RegExp | string, to: string): RawRequest => ({
      ...req,
      rawQuery: req.rawQuery.replace(from, to),
    });
    expect(codeOf(() => verify({ ...req, rawPath: '/bucket/other.txt' }))).toBe('SignatureDoesNotMatch/403');
    expect(codeOf(() => verify(edit(/X-Amz-Signature=[0-9a-f]/, 'X-Amz-Signature=x')))).toBe(
      'SignatureDoesNotMatch/403',
    );
    expect(codeOf(() => verify(edit(/&X-Amz-Signature=[0-9a-f]+/, '')))).toBe(
      'AuthorizationQueryParametersError/400',
    );
    expect(codeOf(() => verify(edit('%2Fs3%2F', '%2Fec2%2F')))).toBe('AuthorizationQueryParametersError/400');
    expect(
      codeOf(() => verify(edit('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1'))),
    ).toBe('AuthorizationQueryParametersError/400');
    expect(
      codeOf(() =>
        verify(edit('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256')),
      ),
    ).toBe('InvalidRequest/400');
    expect(codeOf(() => verify(edit('X-Amz-Date=20260301T120000Z', 'X-Amz-Date=20260301T1200Z')))).toBe(
      'AuthorizationQueryParametersError/400',
    );
    expect(codeOf(() => verify(edit('X-Amz-Expires=900', 'X-Amz-Expires=soon')))).toBe(
      'AuthorizationQueryParametersError/400',
    );
    expect(
      codeOf(() => verify({ ...req, rawQuery: `${req.rawQuery}&X-Amz-Signature=${'0'.repeat(64)}` })),
    ).toBe('AuthorizationQueryParametersError/400');
    expect(
      codeOf(() => verify({ ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 x' } })),
    ).toBe('InvalidArgument/400');
    expect(codeOf(() => verify({ ...req, headers: { ...req.headers, 'x-amz-meta-a': 'b' } }))).toBe(
      'AccessDenied/403',
    );
  });

  it('keeps X-Amz-Security-Token in the canonical query', async () => {
    const req = await presigned({ query: { 'X-Amz-Security-Token': 'tok/en+=' } });
    expect(codeOf(() => verify(req))).toBe('ok');
    expect(codeOf(() => verify({ ...req, rawQuery: req.rawQuery.replace('tok%2Fen', 'tok%2Fem') }))).toBe(
      'SignatureDoesNotMatch/403',
    );
  });

  it('builds the canonical query without X-Amz-Signature', () => {
    expect(canonicalQueryString(parseQuery('b=2&X-Amz-Signature=abc&a=1'), 'X-Amz-Signature')).toBe(
      'a=1&b=2',
    );
  });
});
