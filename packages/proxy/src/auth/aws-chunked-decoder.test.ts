import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash, createHmac, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isS3Error } from '../s3/errors.js';
import { AwsChunkedDecoder, type AwsChunkedDecoderOptions } from './aws-chunked-decoder.js';
import { ChunkSignatureChain } from './chunk-signature-chain.js';
import type { ChecksumAlgorithm, SigningContext } from './types.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const hmac = (key: string | Buffer | KeyObject, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest();
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

// The credentials and scope of the AWS chunked-upload examples (sigv4-streaming, sigv4-streaming-trailers).
const exampleKey = createSecretKey(
  hmac(
    hmac(hmac(hmac('AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524'), 'us-east-1'), 's3'),
    'aws4_request',
  ),
);
const exampleContext = (seedSignature: string): SigningContext => ({
  seedSignature,
  signingKey: exampleKey,
  scope: '20130524/us-east-1/s3/aws4_request',
  amzDate: '20130524T000000Z',
});

interface EncodeOptions {
  /** Sign the chunks, chaining from this context. */
  signing?: SigningContext;
  trailer?: { name: string; value: string };
  /** Put a blank line between the final chunk and the trailers, as the AWS trailer example does. */
  isBlankBeforeTrailer?: boolean;
}

/** An independent aws-chunked encoder, written from the S3 documentation. */
function encode(payload: Buffer, chunkSizes: readonly number[], options: EncodeOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const { signing } = options;
  let previous = signing?.seedSignature ?? '';
  const header = (data: Buffer): string => {
    const size = data.length.toString(16);
    if (signing === undefined) return `${size}\r\n`;
    previous = hmac(
      signing.signingKey,
      `AWS4-HMAC-SHA256-PAYLOAD\n${signing.amzDate}\n${signing.scope}\n${previous}\n${EMPTY_SHA256}\n${sha256(data)}`,
    ).toString('hex');
    return `${size};chunk-signature=${previous}\r\n`;
  };
  let offset = 0;
  for (const size of chunkSizes) {
    const data = payload.subarray(offset, offset + size);
    offset += size;
    parts.push(Buffer.from(header(data)), data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(header(Buffer.alloc(0))));
  const { trailer } = options;
  if (trailer === undefined) {
    parts.push(Buffer.from('\r\n'));
  } else {
    if (options.isBlankBeforeTrailer === true) parts.push(Buffer.from('\r\n'));
    parts.push(Buffer.from(`${trailer.name}:${trailer.value}\r\n`));
    if (signing !== undefined) {
      const signature = hmac(
        signing.signingKey,
        `AWS4-HMAC-SHA256-TRAILER\n${signing.amzDate}\n${signing.scope}\n${previous}\n${sha256(`${trailer.name}:${trailer.value}\n`)}`,
      ).toString('hex');
      parts.push(Buffer.from(`x-amz-trailer-signature:${signature}\r\n`));
    }
    parts.push(Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

interface DecodeSetup {
  signing?: SigningContext;
  trailer?: ChecksumAlgorithm;
  maxChunkBytes?: number;
  maxDecodedBytes?: number;
}

function makeDecoder(setup: DecodeSetup, out: Buffer[]): AwsChunkedDecoder {
  const options: AwsChunkedDecoderOptions = { maxChunkBytes: setup.maxChunkBytes ?? 1024 * 1024 };
  if (setup.signing !== undefined) options.chain = new ChunkSignatureChain(setup.signing);
  if (setup.trailer !== undefined) options.trailer = setup.trailer;
  if (setup.maxDecodedBytes !== undefined) options.maxDecodedBytes = setup.maxDecodedBytes;
  return new AwsChunkedDecoder(options, (data) => out.push(Buffer.from(data)));
}

/** Feeds `wire` in pieces cut at `cuts`; returns the decoded bytes and the trailer value. */
function decode(
  wire: Buffer,
  setup: DecodeSetup,
  cuts: readonly number[] = [],
): { data: Buffer; trailer: string | undefined } {
  const out: Buffer[] = [];
  const decoder = makeDecoder(setup, out);
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    decoder.write(wire.subarray(at, Math.max(at, cut)));
    at = Math.max(at, cut);
  }
  decoder.write(wire.subarray(at));
  decoder.end();
  return { data: Buffer.concat(out), trailer: decoder.trailerValue };
}

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (err: unknown) {
    return err;
  }
  return undefined;
}

const A66560 = Buffer.alloc(66560, 'a');

describe('aws-chunked decoder: the AWS documentation examples', () => {
  it('reproduces the published chunk signatures of the signed example', () => {
    const wire = encode(A66560, [65536, 1024], {
      signing: exampleContext('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'),
    });
    const text = wire.toString('latin1');
    for (const signature of [
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ]) {
      expect(text).toContain(`;chunk-signature=${signature}\r\n`);
    }
  });

  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
  const trailerExample =
    '10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n' +
    'a'.repeat(65536) +
    '\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n' +
    'a'.repeat(1024) +
    '\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n';
  const trailerLines =
    'x-amz-checksum-crc32c:sOO8/Q==\r\n' +
    'x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n';
  const trailerSetup: DecodeSetup = {
    signing: exampleContext('106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e'),
    trailer: 'CRC32C',
  };

  it('verifies the published trailer example, with and without a blank line before the trailer', () => {
    for (const wire of [trailerExample + trailerLines, trailerExample + '\r\n' + trailerLines]) {
      const { data, trailer } = decode(Buffer.from(wire, 'latin1'), trailerSetup);
      expect(data.equals(A66560)).toBe(true);
      expect(trailer).toBe('sOO8/Q==');
    }
  });

  it('refuses the trailer example with its checksum or signature changed', () => {
    for (const [from, to] of [
      ['sOO8/Q==', 'sOO8/Q=A'],
      ['d81f82fc', 'd81f82fd'],
    ] as const) {
      const wire = Buffer.from(trailerExample + trailerLines.replace(from, to), 'latin1');
      expect(
        isS3Error(
          errorOf(() => decode(wire, trailerSetup)),
          'SignatureDoesNotMatch',
        ),
      ).toBe(true);
    }
  });

  it('refuses the signed trailer example without its trailer signature', () => {
    const wire = Buffer.from(trailerExample + 'x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n', 'latin1');
    expect(
      isS3Error(
        errorOf(() => decode(wire, trailerSetup)),
        'IncompleteBody',
      ),
    ).toBe(true);
  });
});

const signing = exampleContext('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');

type Mode = 'streaming-signed' | 'streaming-unsigned-trailer' | 'streaming-signed-trailer';
const MODES: readonly Mode[] = ['streaming-signed', 'streaming-unsigned-trailer', 'streaming-signed-trailer'];

function scenario(mode: Mode, payload: Buffer, sizes: number[]): { wire: Buffer; setup: DecodeSetup } {
  const isSigned = mode !== 'streaming-unsigned-trailer';
  const hasTrailer = mode !== 'streaming-signed';
  const trailer = { name: 'x-amz-checksum-crc32', value: 'AAAAAA==' };
  return {
    wire: encode(payload, sizes, { ...(isSigned && { signing }), ...(hasTrailer && { trailer }) }),
    setup: { ...(isSigned && { signing }), ...(hasTrailer && { trailer: 'CRC32' as const }) },
  };
}

const payloadWithChunks = fc
  .array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 4 })
  .map((chunks) => ({ payload: Buffer.concat(chunks), sizes: chunks.map((c) => c.length) }));

describe('aws-chunked decoder: properties', () => {
  it('gives the same bytes however the wire is split', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MODES),
        payloadWithChunks,
        fc.array(fc.nat(), { maxLength: 12 }),
        (mode, { payload, sizes }, rawCuts) => {
          const { wire, setup } = scenario(mode, payload, sizes);
          const cuts = rawCuts.map((c) => c % (wire.length + 1));
          const { data, trailer } = decode(wire, setup, cuts);
          expect(data.equals(payload)).toBe(true);
          if (setup.trailer !== undefined) expect(trailer).toBe('AAAAAA==');
        },
      ),
    );
  });

  it('byte by byte too', () => {
    const { wire, setup } = scenario('streaming-signed-trailer', Buffer.from('hello world'), [5, 6]);
    const cuts = Array.from({ length: wire.length }, (_, i) => i);
    expect(decode(wire, setup, cuts).data.toString()).toBe('hello world');
  });

  it('never yields a short body from a truncated wire: it fails, or only framing was missing', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MODES), payloadWithChunks, fc.nat(), (mode, { payload, sizes }, n) => {
        const { wire, setup } = scenario(mode, payload, sizes);
        const prefix = wire.subarray(0, n % wire.length);
        let decoded: Buffer | undefined;
        const error = errorOf(() => {
          decoded = decode(prefix, setup).data;
        });
        if (error === undefined) {
          // Accepted: only the closing blank line (or the trailer's line end) was cut.
          expect(decoded?.equals(payload)).toBe(true);
          expect(wire.length - prefix.length).toBeLessThanOrEqual(2);
        } else {
          expect(isS3Error(error, 'IncompleteBody') || isS3Error(error, 'InvalidRequest')).toBe(true);
        }
      }),
    );
  });

  it('fails on any single flipped byte of a signed body', () => {
    const payload = Buffer.from('The quick brown fox jumps over the lazy dog');
    const { wire, setup } = scenario('streaming-signed-trailer', payload, [20, 23]);
    fc.assert(
      fc.property(fc.nat({ max: wire.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const tampered = Buffer.from(wire);
        tampered[at]! ^= xor;
        let decoded: Buffer | undefined;
        const error = errorOf(() => {
          decoded = decode(tampered, setup).data;
        });
        // A flip in a hex digit's case or a trailing line end can leave the body intact; never changed.
        if (error === undefined) expect(decoded?.equals(payload)).toBe(true);
        else expect(error).toBeInstanceOf(Error);
      }),
    );
  });
});

describe('aws-chunked decoder: malformed framing', () => {
  const unsigned: DecodeSetup = { trailer: 'CRC32' };
  const cases: [string, string, DecodeSetup, string][] = [
    ['bad hex', 'zz\r\nabc\r\n0\r\n\r\n', {}, 'InvalidRequest'],
    ['empty size', '\r\n', {}, 'InvalidRequest'],
    ['size with junk', '5x\r\nhello\r\n0\r\n\r\n', {}, 'InvalidRequest'],
    ['chunk over the limit', '100001\r\n', { maxChunkBytes: 1024 * 1024 }, 'InvalidRequest'],
    ['absurd chunk size', 'ffffffffffffffffffffffff\r\n', {}, 'InvalidRequest'],
    ['line too long', '0'.repeat(5000), {}, 'InvalidRequest'],
    ['missing CRLF after data', '5\r\nhelloX\r\n0\r\n\r\n', {}, 'InvalidRequest'],
    ['LF only after data', '5\r\nhello\n0\r\n\r\n', {}, 'InvalidRequest'],
    ['truncated data', '5\r\nhel', {}, 'IncompleteBody'],
    ['no final chunk', '5\r\nhello\r\n', {}, 'IncompleteBody'],
    ['empty body', '', {}, 'IncompleteBody'],
    ['data after the end', '5\r\nhello\r\n0\r\n\r\nmore', {}, 'InvalidRequest'],
    ['missing trailer', '5\r\nhello\r\n0\r\n\r\n', unsigned, 'IncompleteBody'],
    ['undeclared trailer', '0\r\nx-amz-checksum-sha1:AAAA\r\n\r\n', unsigned, 'InvalidRequest'],
    ['trailer without colon', '0\r\nx-amz-checksum-crc32\r\n\r\n', unsigned, 'InvalidRequest'],
    [
      'repeated trailer',
      '0\r\nx-amz-checksum-crc32:a\r\nx-amz-checksum-crc32:b\r\n\r\n',
      unsigned,
      'InvalidRequest',
    ],
    ['endless blank lines', '0\r\n' + '\r\n'.repeat(100), unsigned, 'InvalidRequest'],
    ['unsigned chunk in a signed body', '5\r\nhello\r\n0\r\n\r\n', { signing }, 'InvalidRequest'],
    ['short chunk signature', '5;chunk-signature=abc\r\nhello\r\n', { signing }, 'InvalidRequest'],
    ['more than the declared length', '5\r\nhello\r\n6\r\n', { maxDecodedBytes: 10 }, 'IncompleteBody'],
  ];
  for (const [name, wire, setup, code] of cases) {
    it(`${name} → ${code}`, () => {
      const error = errorOf(() => decode(Buffer.from(wire, 'latin1'), setup));
      expect(isS3Error(error) ? error.code : error).toBe(code);
    });
  }

  it('refuses an oversized chunk from its size line, before any of its data', () => {
    const out: Buffer[] = [];
    const decoder = makeDecoder({ maxChunkBytes: 16 }, out);
    expect(
      isS3Error(
        errorOf(() => decoder.write(Buffer.from('11\r\n'))),
        'InvalidRequest',
      ),
    ).toBe(true);
  });

  it('accepts LF-only line ends, spaces around trailer values and unknown chunk extensions', () => {
    const wire = '5;ext=1\nhello\r\n0\nx-amz-checksum-crc32 : DUoRhQ== \n\n';
    const { data, trailer } = decode(Buffer.from(wire), { trailer: 'CRC32' });
    expect(data.toString()).toBe('hello');
    expect(trailer).toBe('DUoRhQ==');
  });

  it('accepts a body whose closing blank line is missing', () => {
    expect(decode(Buffer.from('5\r\nhello\r\n0\r\n'), {}).data.toString()).toBe('hello');
    const { trailer } = decode(Buffer.from('0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n'), { trailer: 'CRC32' });
    expect(trailer).toBe('DUoRhQ==');
    const cut = errorOf(() =>
      decode(Buffer.from('0\r\nx-amz-checksum-crc32:DUoRhQ=='), { trailer: 'CRC32' }),
    );
    expect(isS3Error(cut, 'IncompleteBody')).toBe(true);
  });

  it('refuses a chunk whose signature is flipped', () => {
    const { wire, setup } = scenario('streaming-signed', Buffer.from('hello'), [5]);
    const text = wire.toString('latin1');
    const at = text.indexOf('chunk-signature=') + 20;
    const tampered = Buffer.from(
      text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1),
      'latin1',
    );
    expect(
      isS3Error(
        errorOf(() => decode(tampered, setup)),
        'SignatureDoesNotMatch',
      ),
    ).toBe(true);
  });
});
