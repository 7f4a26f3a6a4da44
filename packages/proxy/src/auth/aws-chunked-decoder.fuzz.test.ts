// The aws-chunked decoder fed random framing, truncated and mutated bodies, oversized and
// non-hex size lines, trailer garbage and wrong chunk signatures: it ends in an S3Error or in
// the exact payload, never hands on more bytes than x-amz-decoded-content-length, and never
// spins (each case runs synchronously under a time limit). S3SEAL_FUZZ_RUNS raises the run
// count (make fuzz).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash, createHmac, createSecretKey } from 'node:crypto';
import { isS3Error } from '../s3/errors.js';
import { AwsChunkedDecoder, type AwsChunkedDecoderOptions } from './aws-chunked-decoder.js';
import { ChunkSignatureChain } from './chunk-signature-chain.js';
import type { SigningContext } from './types.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);
const CASE_LIMIT_MS = 2000;

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const signingKey = createSecretKey(Buffer.alloc(32, 7));
const context: SigningContext = {
  seedSignature: 'a'.repeat(64),
  signingKey,
  scope: '20260615/us-east-1/s3/aws4_request',
  amzDate: '20260615T120000Z',
};

/** An independent signed/unsigned aws-chunked encoder (S3 documentation). */
function encode(payload: Buffer, sizes: readonly number[], isSigned: boolean, trailer?: string): Buffer {
  const out: Buffer[] = [];
  let previous = context.seedSignature;
  const header = (data: Buffer): string => {
    if (!isSigned) return `${data.length.toString(16)}\r\n`;
    previous = createHmac('sha256', signingKey)
      .update(
        `AWS4-HMAC-SHA256-PAYLOAD\n${context.amzDate}\n${context.scope}\n${previous}\n${EMPTY_SHA256}\n${createHash('sha256').update(data).digest('hex')}`,
      )
      .digest('hex');
    return `${data.length.toString(16)};chunk-signature=${previous}\r\n`;
  };
  let at = 0;
  for (const size of sizes) {
    const data = payload.subarray(at, at + size);
    at += size;
    out.push(Buffer.from(header(data)), data, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(header(Buffer.alloc(0))));
  if (trailer !== undefined) {
    out.push(Buffer.from(`x-amz-checksum-crc32:${trailer}\r\n`));
    if (isSigned) {
      const signature = createHmac('sha256', signingKey)
        .update(
          `AWS4-HMAC-SHA256-TRAILER\n${context.amzDate}\n${context.scope}\n${previous}\n${createHash('sha256').update(`x-amz-checksum-crc32:${trailer}\n`).digest('hex')}`,
        )
        .digest('hex');
      out.push(Buffer.from(`x-amz-trailer-signature:${signature}\r\n`));
    }
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

interface Setup {
  isSigned: boolean;
  hasTrailer: boolean;
  maxDecodedBytes: number;
}

type Outcome = { ok: true; data: Buffer } | { ok: false; code: string };

/** Feeds `wire` in pieces; every throw must be an S3Error, and the sink may never exceed the limit. */
function run(wire: Buffer, setup: Setup, cuts: readonly number[]): Outcome {
  const started = Date.now();
  const out: Buffer[] = [];
  let total = 0;
  const options: AwsChunkedDecoderOptions = { maxChunkBytes: 4096, maxDecodedBytes: setup.maxDecodedBytes };
  if (setup.isSigned) options.chain = new ChunkSignatureChain(context);
  if (setup.hasTrailer) options.trailer = 'CRC32';
  const decoder = new AwsChunkedDecoder(options, (data) => {
    total += data.length;
    expect(total).toBeLessThanOrEqual(setup.maxDecodedBytes);
    out.push(Buffer.from(data));
  });
  try {
    let at = 0;
    for (const cut of [...cuts, wire.length].map((c) => Math.min(c, wire.length)).sort((a, b) => a - b)) {
      decoder.write(wire.subarray(at, Math.max(at, cut)));
      at = Math.max(at, cut);
    }
    decoder.end();
    return { ok: true, data: Buffer.concat(out) };
  } catch (err: unknown) {
    if (!isS3Error(err)) throw err;
    return { ok: false, code: err.code };
  } finally {
    expect(Date.now() - started).toBeLessThan(CASE_LIMIT_MS);
  }
}

const CODES = ['InvalidRequest', 'IncompleteBody', 'SignatureDoesNotMatch'];
const body = fc
  .array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 5 })
  .map((chunks) => ({ payload: Buffer.concat(chunks), sizes: chunks.map((c) => c.length) }));
const setup = fc.record({ isSigned: fc.boolean(), hasTrailer: fc.boolean() });
const cuts = fc.array(fc.nat({ max: 2000 }), { maxLength: 6 });

describe('aws-chunked decoder (property)', () => {
  it('decodes a well-formed body exactly, however it is cut', () => {
    fc.assert(
      fc.property(body, setup, cuts, ({ payload, sizes }, s, c) => {
        const wire = encode(payload, sizes, s.isSigned, s.hasTrailer ? 'AAAAAA==' : undefined);
        const out = run(wire, { ...s, maxDecodedBytes: payload.length }, c);
        expect(out).toEqual({ ok: true, data: payload });
      }),
      { numRuns: RUNS },
    );
  });

  it('a body longer than declared fails before the excess is handed on', () => {
    fc.assert(
      fc.property(body, setup, fc.nat({ max: 50 }), ({ payload, sizes }, s, less) => {
        fc.pre(payload.length > 0);
        const declared = Math.max(0, payload.length - 1 - less);
        const out = run(
          encode(payload, sizes, s.isSigned, s.hasTrailer ? 'AAAAAA==' : undefined),
          { ...s, maxDecodedBytes: declared },
          [],
        );
        expect(out).toEqual({ ok: false, code: 'IncompleteBody' });
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated anywhere: an S3 error, or only the optional closing line was missing', () => {
    fc.assert(
      fc.property(body, setup, fc.nat(), cuts, ({ payload, sizes }, s, n, c) => {
        const wire = encode(payload, sizes, s.isSigned, s.hasTrailer ? 'AAAAAA==' : undefined);
        const length = n % wire.length;
        const out = run(wire.subarray(0, length), { ...s, maxDecodedBytes: payload.length }, c);
        if (out.ok) {
          expect(out.data.equals(payload)).toBe(true);
          expect(wire.length - length).toBeLessThanOrEqual(2);
        } else expect(CODES).toContain(out.code);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated bytes: signed bodies always fail; nothing ever passes the declared length', () => {
    fc.assert(
      fc.property(
        body,
        setup,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        cuts,
        ({ payload, sizes }, s, flips, c) => {
          const wire = Buffer.from(encode(payload, sizes, s.isSigned, s.hasTrailer ? 'AAAAAA==' : undefined));
          for (const [at, xor] of flips) wire[at % wire.length]! ^= xor;
          const out = run(wire, { ...s, maxDecodedBytes: payload.length }, c);
          if (!out.ok) expect(CODES).toContain(out.code);
          else if (s.isSigned) {
            // A flip in a line end's tolerated form (CR dropped to another byte is not) or in
            // ignored padding can leave the payload intact; the payload itself never changes.
            expect(out.data.equals(payload)).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('random framing text: an S3 error or bytes within the limit, never a hang', () => {
    const line = fc.oneof(
      fc.constantFrom(
        '0',
        '0\r\n',
        '\r\n',
        'ffffffffffffffffffff',
        '1000\r\n',
        '-1',
        '0x10',
        'g',
        '5;chunk-signature=',
        `5;chunk-signature=${'0'.repeat(64)}`,
        'x-amz-checksum-crc32:AAAAAA==',
        'x-amz-trailer-signature:00',
        'foo:bar',
        ':',
        '\n'.repeat(20),
      ),
      fc.string({ maxLength: 30 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF;=\r\n'), maxLength: 40 }),
      fc.constant('9'.repeat(5000)),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        setup,
        fc.nat({ max: 300 }),
        cuts,
        (lines, s, limit, c) => {
          const out = run(Buffer.from(lines.join('\r\n'), 'latin1'), { ...s, maxDecodedBytes: limit }, c);
          if (!out.ok) expect(CODES).toContain(out.code);
          else expect(out.data.length).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a signed chunk with any other valid-looking signature is refused', () => {
    fc.assert(
      fc.property(body, fc.stringMatching(/^[0-9a-f]{64}$/), fc.nat(), ({ payload, sizes }, other, which) => {
        const wire = encode(payload, sizes, true).toString('latin1');
        const signatures = [...wire.matchAll(/chunk-signature=([0-9a-f]{64})/g)];
        const target = signatures[which % signatures.length]!;
        fc.pre(target[1] !== other);
        const at = target.index + 'chunk-signature='.length;
        const forged = Buffer.from(wire.slice(0, at) + other + wire.slice(at + 64), 'latin1');
        expect(
          run(forged, { isSigned: true, hasTrailer: false, maxDecodedBytes: payload.length }, []),
        ).toEqual({
          ok: false,
          code: 'SignatureDoesNotMatch',
        });
      }),
      { numRuns: RUNS },
    );
  });
});
