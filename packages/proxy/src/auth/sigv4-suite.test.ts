// The AWS SigV4 test-suite vectors that apply to S3-style requests, and the worked examples of
// the S3 API Reference, one test per vector. Sources are named in sigv4-suite.fixture.json.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isS3Error } from '../s3/errors.js';
import {
  buildCanonicalRequest,
  canonicalQueryString,
  canonicalUris,
  parseQuery,
} from './canonical-request.js';
import { createPayloadVerifier } from './payload-verifier.js';
import { deriveSigningKey, sha256Hex, signatureOf } from './signing-key.js';
import { requestStringToSign } from './string-to-sign.js';
import type { RawRequest } from './types.js';
import { verifyRequest } from './verify-request.js';

interface VectorCase {
  name: string;
  request: string;
  signedHeaders?: string;
  signature?: string;
  expect?: 'match' | 'not-normalized';
}
interface VectorSuite {
  source: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
  amzDate: string;
  cases: VectorCase[];
}

const fixture = JSON.parse(readFileSync(new URL('./sigv4-suite.fixture.json', import.meta.url), 'utf8')) as {
  suites: [VectorSuite, VectorSuite];
};
const [suite, s3Examples] = fixture.suites;

/** Turns a suite `.req` text into what Node's parser would hand the proxy. */
function parseRawRequest(text: string): { req: RawRequest; body: Buffer } {
  const split = text.indexOf('\n\n');
  const head = split === -1 ? text : text.slice(0, split);
  const body = Buffer.from(split === -1 ? '' : text.slice(split + 2), 'utf8');
  const [requestLine = '', ...headerLines] = head.split('\n');
  const method = requestLine.slice(0, requestLine.indexOf(' '));
  const target = requestLine.slice(method.length + 1, requestLine.lastIndexOf(' HTTP/1.1'));
  const q = target.indexOf('?');
  const headers: Record<string, string> = {};
  const headersDistinct: Record<string, string[]> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    (headersDistinct[name] ??= []).push(value);
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return {
    req: {
      method,
      rawPath: q === -1 ? target : target.slice(0, q),
      rawQuery: q === -1 ? '' : target.slice(q + 1),
      headers,
      headersDistinct,
    },
    body,
  };
}

/** The signature our canonicalisation gives for each canonical URI we would try. */
function signaturesFor(vector: VectorCase, s: VectorSuite): { uris: string[]; signatures: string[] } {
  const { req, body } = parseRawRequest(vector.request);
  const date = s.amzDate.slice(0, 8);
  const key = deriveSigningKey(s.secretAccessKey, date, s.region, s.service);
  const scope = `${date}/${s.region}/${s.service}/aws4_request`;
  const uris = canonicalUris(req.rawPath);
  const signatures = uris.map((canonicalUri) =>
    signatureOf(
      key,
      requestStringToSign(
        s.amzDate,
        scope,
        buildCanonicalRequest(req, {
          method: req.method,
          canonicalUri,
          canonicalQuery: canonicalQueryString(parseQuery(req.rawQuery)),
          signedHeaders: (vector.signedHeaders ?? '').split(';'),
          payloadHash: sha256Hex(body),
        }),
      ),
    ),
  );
  return { uris, signatures };
}

describe(`AWS SigV4 test suite (${suite.cases.length} vectors)`, () => {
  for (const vector of suite.cases) {
    if (vector.expect === 'not-normalized') {
      it(`${vector.name}: S3 signs the path as sent, without the suite's normalisation`, () => {
        const { req } = parseRawRequest(vector.request);
        const { uris, signatures } = signaturesFor(vector, suite);
        expect(uris[0]).toBe(req.rawPath);
        expect(signatures).not.toContain(vector.signature);
      });
    } else {
      it(vector.name, () => {
        expect(signaturesFor(vector, suite).signatures).toContain(vector.signature);
      });
    }
  }
});

function s3Example(name: string): { req: RawRequest; body: Buffer } {
  const vector = s3Examples.cases.find((c) => c.name.startsWith(name));
  if (vector === undefined) throw new Error(`no example ${name}`);
  return parseRawRequest(vector.request);
}

const credentials = {
  secretFor: (id: string): string | undefined =>
    id === s3Examples.accessKeyId ? s3Examples.secretAccessKey : undefined,
};
const exampleNow = new Date('2013-05-24T00:05:00Z');

async function verifiedBody(req: RawRequest, wire: Buffer): Promise<Buffer> {
  const verified = verifyRequest(req, credentials, { now: exampleNow });
  const out: Buffer[] = [];
  await pipeline(
    Readable.from([wire]),
    createPayloadVerifier(req, verified),
    async (source: AsyncIterable<Buffer>) => {
      for await (const piece of source) out.push(piece);
    },
  );
  return Buffer.concat(out);
}

describe(`S3 API Reference SigV4 examples (${s3Examples.cases.length})`, () => {
  for (const vector of s3Examples.cases) {
    it(`${vector.name} verifies`, async () => {
      const { req, body } = parseRawRequest(vector.request);
      const verified = verifyRequest(req, credentials, { now: exampleNow });
      expect(verified).toMatchObject({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', region: 'us-east-1' });
      if (verified.payload === 'signed') expect((await verifiedBody(req, body)).equals(body)).toBe(true);
    });
  }

  it('a changed signed header fails with SignatureDoesNotMatch', () => {
    const { req } = s3Example('get-object');
    req.headers.range = 'bytes=0-10';
    req.headersDistinct = { ...req.headersDistinct, range: ['bytes=0-10'] };
    expect(() => verifyRequest(req, credentials, { now: exampleNow })).toThrow(
      expect.objectContaining({ code: 'SignatureDoesNotMatch' }),
    );
  });

  it('the PUT example with a changed body fails with XAmzContentSHA256Mismatch', async () => {
    const { req } = s3Example('put-object (raw');
    const error = await verifiedBody(req, Buffer.from('Welcome to Amazon S4.')).catch((err: unknown) => err);
    expect(isS3Error(error, 'XAmzContentSHA256Mismatch')).toBe(true);
  });

  it('the streaming example decodes to its 66560 bytes through the documented chunk signatures', async () => {
    const { req } = s3Example('streaming-put-object');
    const chunk = (size: number, signature: string): Buffer =>
      Buffer.concat([
        Buffer.from(`${size.toString(16)};chunk-signature=${signature}\r\n`),
        Buffer.alloc(size, 'a'),
        Buffer.from('\r\n'),
      ]);
    const wire = Buffer.concat([
      chunk(65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'),
      chunk(1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'),
      chunk(0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'),
    ]);
    expect(wire.length).toBe(66824); // the example's Content-Length
    expect((await verifiedBody(req, wire)).equals(Buffer.alloc(66560, 'a'))).toBe(true);

    const tampered = Buffer.from(wire);
    tampered[66000] = 'b'.charCodeAt(0); // inside the second chunk's data
    const error = await verifiedBody(req, tampered).catch((err: unknown) => err);
    expect(isS3Error(error, 'SignatureDoesNotMatch')).toBe(true);
  });
});
