import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash, createHmac, createSecretKey } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { isS3Error } from '../s3/errors.js';
import { createPayloadVerifier, type PayloadVerifier } from './payload-verifier.js';
import type { ChecksumAlgorithm, PayloadMode, RawRequest, VerifiedRequest } from './types.js';

const b64 = (data: Buffer): string => data.toString('base64');
const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const crc32B64 = (data: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return b64(out);
};

function request(headers: RawRequest['headers'] = {}): RawRequest {
  return { method: 'PUT', rawPath: '/b/k', rawQuery: '', headers };
}

// The signing context of the AWS chunked-upload example.
const exampleKey = createSecretKey(
  ['20130524', 'us-east-1', 's3', 'aws4_request'].reduce<Buffer | string>(
    (key, part) => createHmac('sha256', key).update(part).digest(),
    'AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ) as Buffer,
);

function verified(payload: PayloadMode, extra: Partial<VerifiedRequest> = {}): VerifiedRequest {
  return {
    accessKeyId: 'AK',
    region: 'us-east-1',
    signedAt: new Date('2013-05-24T00:00:00Z'),
    isPresigned: false,
    payload,
    signingContext: {
      seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      signingKey: exampleKey,
      scope: '20130524/us-east-1/s3/aws4_request',
      amzDate: '20130524T000000Z',
    },
    ...extra,
  };
}

/** An unsigned aws-chunked body with a trailer, as @aws-sdk/client-s3 sends it. */
function unsignedTrailerWire(payload: Buffer, chunkSize: number, trailerLine: string): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < payload.length; at += chunkSize) {
    const data = payload.subarray(at, at + chunkSize);
    parts.push(Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\n${trailerLine}\r\n\r\n`));
  return Buffer.concat(parts);
}

function split(wire: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) pieces.push(wire.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < wire.length) pieces.push(wire.subarray(at));
  return pieces;
}

interface Outcome {
  out: Buffer;
  error: unknown;
  verifier: PayloadVerifier;
  /** Whether `result` was already set when the downstream saw the last byte. */
  wasResultSetAtLastByte: boolean;
}

/** Runs pieces through a verifier into a downstream that records every byte it is given. */
async function run(
  req: RawRequest,
  v: VerifiedRequest,
  pieces: readonly Buffer[],
  expectedLength?: number,
): Promise<Outcome> {
  const verifier = createPayloadVerifier(req, v, { computeMd5: true });
  const received: Buffer[] = [];
  let total = 0;
  let wasResultSetAtLastByte = false;
  const downstream = new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      received.push(chunk);
      total += chunk.length;
      if (total === expectedLength) wasResultSetAtLastByte = verifier.result !== undefined;
      callback();
    },
  });
  let error: unknown;
  try {
    await pipeline(Readable.from(pieces), verifier, downstream);
  } catch (err: unknown) {
    error = err;
  }
  return { out: Buffer.concat(received), error, verifier, wasResultSetAtLastByte };
}

const hello = Buffer.from('hello world');

describe('payload verifier: the fail-closed rule', () => {
  type Failure = 'sha256' | 'trailer-crc' | 'content-md5' | 'header-crc' | 'short' | 'chunk-signature';
  const FAILURES: readonly Failure[] = [
    'sha256',
    'trailer-crc',
    'content-md5',
    'header-crc',
    'short',
    'chunk-signature',
  ];

  /** A request whose body is whole but fails its last check, and the code that failure gets. */
  function failing(
    kind: Failure,
    payload: Buffer,
  ): { req: RawRequest; v: VerifiedRequest; wire: Buffer; code: string } {
    const length = String(payload.length);
    switch (kind) {
      case 'sha256':
        return {
          req: request({ 'content-length': length }),
          v: verified('signed', { payloadSha256: '0'.repeat(64) }),
          wire: payload,
          code: 'XAmzContentSHA256Mismatch',
        };
      case 'trailer-crc':
        return {
          req: request(),
          v: verified('streaming-unsigned-trailer', {
            trailer: 'CRC32',
            decodedContentLength: payload.length,
          }),
          wire: unsignedTrailerWire(payload, 7, 'x-amz-checksum-crc32:AAAAAA=='),
          code: 'BadDigest',
        };
      case 'content-md5':
        return {
          req: request({ 'content-length': length, 'content-md5': b64(Buffer.alloc(16)) }),
          v: verified('unsigned'),
          wire: payload,
          code: 'BadDigest',
        };
      case 'header-crc':
        return {
          req: request({ 'content-length': length, 'x-amz-checksum-crc32': 'AAAAAA==' }),
          v: verified('unsigned'),
          wire: payload,
          code: 'BadDigest',
        };
      case 'short':
        return {
          req: request({ 'content-length': String(payload.length + 1) }),
          v: verified('unsigned'),
          wire: payload,
          code: 'IncompleteBody',
        };
      case 'chunk-signature': {
        // The AWS example's first two chunks are valid; the final chunk's signature is not.
        const wire = Buffer.concat([
          Buffer.from(
            '10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n',
          ),
          Buffer.alloc(65536, 'a'),
          Buffer.from(
            '\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n',
          ),
          Buffer.alloc(1024, 'a'),
          Buffer.from(`\r\n0;chunk-signature=${'b'.repeat(64)}\r\n\r\n`),
        ]);
        return {
          req: request(),
          v: verified('streaming-signed', { decodedContentLength: 66560 }),
          wire,
          code: 'SignatureDoesNotMatch',
        };
      }
    }
  }

  it('never lets the last byte through when an end-of-body check fails, however the body is split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FAILURES),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (kind, bytes, cuts) => {
          const payload = kind === 'chunk-signature' ? Buffer.alloc(66560, 'a') : Buffer.from(bytes);
          const { req, v, wire, code } = failing(kind, payload);
          const { out, error } = await run(req, v, split(wire, cuts));
          expect(isS3Error(error) ? error.code : error).toBe(code);
          expect(out.length).toBeLessThan(payload.length);
          expect(payload.subarray(0, out.length).equals(out)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('releases the last byte only once the result is set, when every check passes', async () => {
    const wire = unsignedTrailerWire(hello, 4, `x-amz-checksum-crc32:${crc32B64(hello)}`);
    const outcome = await run(
      request({ 'content-md5': b64(createHash('md5').update(hello).digest()) }),
      verified('streaming-unsigned-trailer', { trailer: 'CRC32', decodedContentLength: hello.length }),
      split(wire, [3, 9, 20, 21, 30]),
      hello.length,
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.out.toString()).toBe('hello world');
    expect(outcome.wasResultSetAtLastByte).toBe(true);
    expect(outcome.verifier.result).toEqual({
      md5Hex: createHash('md5').update(hello).digest('hex'),
      plaintextBytes: 11,
      checksum: { algorithm: 'CRC32', base64: 'DUoRhQ==' },
    });
    expect(outcome.verifier.md5Hex).toBe('5eb63bbbe01eeed093cb22bb8f5acdc3');
  });
});

describe('payload verifier: checks', () => {
  const header: Record<ChecksumAlgorithm, string> = {
    CRC32: 'DUoRhQ==',
    CRC32C: 'yZRlqg==',
    CRC64NVME: 'jSnVw/bqjr4=',
    SHA1: 'Kq5sNclPz7QV2+lfQIuc6R7oRu0=',
    SHA256: 'uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=',
  };
  for (const [algorithm, value] of Object.entries(header) as [ChecksumAlgorithm, string][]) {
    it(`x-amz-checksum-${algorithm.toLowerCase()} is checked against the plaintext`, async () => {
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const good = await run(request({ 'content-length': '11', [name]: value }), verified('unsigned'), [
        hello,
      ]);
      expect(good.error).toBeUndefined();
      expect(good.verifier.result?.checksum).toEqual({ algorithm, base64: value });
      const bad = await run(request({ 'content-length': '11', [name]: value }), verified('unsigned'), [
        Buffer.from('hello World'),
      ]);
      expect(isS3Error(bad.error, 'BadDigest')).toBe(true);
    });
  }

  it('a signed payload passes with the right hash and fails with XAmzContentSHA256Mismatch otherwise', async () => {
    const v = verified('signed', { payloadSha256: sha256Hex(hello) });
    expect((await run(request({ 'content-length': '11' }), v, [hello])).out.equals(hello)).toBe(true);
    const bad = await run(request({ 'content-length': '11' }), v, [Buffer.from('hello worle')]);
    expect(isS3Error(bad.error, 'XAmzContentSHA256Mismatch')).toBe(true);
  });

  it('decoded length must equal x-amz-decoded-content-length', async () => {
    const wire = unsignedTrailerWire(hello, 5, `x-amz-checksum-crc32:${crc32B64(hello)}`);
    for (const declared of [10, 12]) {
      const outcome = await run(
        request(),
        verified('streaming-unsigned-trailer', { trailer: 'CRC32', decodedContentLength: declared }),
        [wire],
      );
      expect(isS3Error(outcome.error, 'IncompleteBody')).toBe(true);
    }
  });

  it('refuses bad digests before reading the body', () => {
    const make =
      (headers: RawRequest['headers'], v = verified('unsigned')) =>
      () =>
        createPayloadVerifier(request(headers), v);
    expect(make({ 'content-md5': 'nope' })).toThrow(expect.objectContaining({ code: 'InvalidDigest' }));
    expect(make({ 'x-amz-checksum-crc32': 'DUoRhQ' })).toThrow(
      expect.objectContaining({ code: 'InvalidRequest' }),
    );
    expect(
      make({ 'x-amz-checksum-crc32': 'DUoRhQ==', 'x-amz-checksum-sha1': 'Kq5sNclPz7QV2+lfQIuc6R7oRu0=' }),
    ).toThrow(expect.objectContaining({ code: 'InvalidRequest' }));
    expect(
      make(
        { 'x-amz-checksum-crc32': 'DUoRhQ==' },
        verified('streaming-unsigned-trailer', { trailer: 'CRC32' }),
      ),
    ).toThrow(expect.objectContaining({ code: 'InvalidRequest' }));
  });

  it('a presigned URL may carry the checksum in its query, as the SDK presigners hoist it', async () => {
    const req = {
      ...request({ 'content-length': '11' }),
      rawQuery: 'x-amz-checksum-crc32=DUoRhQ%3D%3D&X-Amz-Signature=x',
    };
    const good = await run(req, verified('unsigned', { isPresigned: true }), [hello]);
    expect(good.verifier.result?.checksum).toEqual({ algorithm: 'CRC32', base64: 'DUoRhQ==' });
    const bad = await run(req, verified('unsigned', { isPresigned: true }), [Buffer.from('hello there')]);
    expect(isS3Error(bad.error, 'BadDigest')).toBe(true);
  });

  it('a malformed trailer checksum value is InvalidRequest', async () => {
    const wire = unsignedTrailerWire(hello, 5, 'x-amz-checksum-crc32:not-base64');
    const outcome = await run(request(), verified('streaming-unsigned-trailer', { trailer: 'CRC32' }), [
      wire,
    ]);
    expect(isS3Error(outcome.error, 'InvalidRequest')).toBe(true);
  });

  it('an empty body verifies and pushes nothing', async () => {
    const outcome = await run(
      request({ 'content-length': '0' }),
      verified('signed', { payloadSha256: sha256Hex(Buffer.alloc(0)) }),
      [],
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.out.length).toBe(0);
    expect(outcome.verifier.md5Hex).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });
});

describe('payload verifier: memory and backpressure', () => {
  it('stops accepting writes while nobody reads, holding at most a buffer and a piece', async () => {
    const piece = Buffer.alloc(64 * 1024, 1);
    const verifier = createPayloadVerifier(
      request({ 'content-length': String(64 * piece.length) }),
      verified('unsigned'),
    );
    let accepted = 0;
    let isFull = false;
    for (let i = 0; i < 64 && !isFull; i++) {
      isFull = !verifier.write(piece);
      accepted++;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(isFull).toBe(true);
    expect(accepted).toBeLessThan(8);
    expect(verifier.readableLength).toBeLessThanOrEqual(verifier.readableHighWaterMark + piece.length);
    verifier.destroy();
  });

  it('streams a large aws-chunked body through with bounded buffering', async () => {
    const payload = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const wire = unsignedTrailerWire(payload, 64 * 1024, `x-amz-checksum-crc32:${crc32B64(payload)}`);
    const pieces = split(
      wire,
      Array.from({ length: 300 }, (_, i) => i * 10_007),
    );
    const outcome = await run(
      request(),
      verified('streaming-unsigned-trailer', { trailer: 'CRC32', decodedContentLength: payload.length }),
      pieces,
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.out.equals(payload)).toBe(true);
  });
});
