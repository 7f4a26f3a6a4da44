// Real requests from @aws-sdk/client-s3 v3, captured by a node:http server on port 0 exactly as
// the proxy would receive them, then verified end to end: signature, then body through the
// payload verifier. Then bent: one flipped byte anywhere must fail with the right code.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type ChecksumAlgorithm as SdkChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isS3Error } from '../s3/errors.js';
import { declaredPlaintextLength } from './declared-length.js';
import { createPayloadVerifier, type PayloadVerification } from './payload-verifier.js';
import type { RawRequest, VerifiedRequest } from './types.js';
import { verifyRequest } from './verify-request.js';

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  headersDistinct: Record<string, string[] | undefined>;
  body: Buffer;
}

const ACCESS_KEY = 'AKIDCAPTURE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const credentials = {
  secretFor: (id: string): string | undefined => (id === ACCESS_KEY ? SECRET : undefined),
};

const captured: Captured[] = [];
let server: Server;
let client: S3Client;

function reply(method: string, url: string): string {
  if (url.includes('list-type=2'))
    return '<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>';
  if (method === 'POST' && url.includes('delete')) return '<DeleteResult></DeleteResult>';
  return method === 'GET' ? 'object body' : '';
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        headersDistinct: req.headersDistinct,
        body: Buffer.concat(chunks),
      });
      res.setHeader('etag', '"0123456789abcdef0123456789abcdef"');
      res.end(reply(req.method ?? '', req.url ?? ''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new S3Client({
    region: 'eu-central-2',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends a command and returns the request the server saw. */
async function capture(send: () => Promise<unknown>): Promise<Captured> {
  const before = captured.length;
  await send();
  expect(captured.length).toBe(before + 1);
  return captured[before]!;
}

function toRaw(c: Captured): RawRequest {
  const q = c.url.indexOf('?');
  return {
    method: c.method,
    rawPath: q === -1 ? c.url : c.url.slice(0, q),
    rawQuery: q === -1 ? '' : c.url.slice(q + 1),
    headers: c.headers,
    headersDistinct: c.headersDistinct,
  };
}

async function verifyBody(
  req: RawRequest,
  verified: VerifiedRequest,
  body: Buffer,
): Promise<{ out: Buffer; result: PayloadVerification | undefined }> {
  const verifier = createPayloadVerifier(req, verified, { computeMd5: true });
  const out: Buffer[] = [];
  // Pieces of 1000 bytes, so chunk headers and trailers straddle writes.
  const pieces = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) =>
    body.subarray(i * 1000, i * 1000 + 1000),
  );
  await pipeline(
    Readable.from(pieces),
    verifier,
    new Writable({
      write(chunk: Buffer, _encoding, callback): void {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { out: Buffer.concat(out), result: verifier.result };
}

async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err: unknown) {
    return isS3Error(err) ? err.code : String(err);
  }
  return 'ok';
}

function flip(buffer: Buffer, at: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[at]! ^= 0x01;
  return copy;
}

const now = (): Date => new Date();
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');
const KEY = "dir one/ünï cödé (1)+~=%&?!*'.txt";

describe('@aws-sdk/client-s3 PutObject', () => {
  it('a string body: signed payload with a CRC32 header, key with spaces, unicode and reserved characters', async () => {
    const body = Buffer.from('hello world');
    const c = await capture(() =>
      client.send(new PutObjectCommand({ Bucket: 'b', Key: KEY, Body: body.toString() })),
    );
    const req = toRaw(c);
    expect(req.rawPath).toBe(
      '/b/dir%20one/%C3%BCn%C3%AF%20c%C3%B6d%C3%A9%20%281%29%2B~%3D%25%26%3F%21%2A%27.txt',
    );
    const verified = verifyRequest(req, credentials, { now: now() });
    expect(verified).toMatchObject({ payload: 'signed', region: 'eu-central-2', isPresigned: false });
    expect(declaredPlaintextLength(req, verified)).toBe(11);
    const { out, result } = await verifyBody(req, verified, c.body);
    expect(out.equals(body)).toBe(true);
    expect(result).toMatchObject({ md5Hex: md5(body), checksum: { algorithm: 'CRC32', base64: 'DUoRhQ==' } });

    expect(await codeOf(() => verifyBody(req, verified, flip(c.body, 4)))).toBe('XAmzContentSHA256Mismatch');
    const badSig = {
      ...req,
      headers: { ...req.headers, authorization: flipLastHex(String(req.headers.authorization)) },
    };
    expect(await codeOf(() => verifyRequest(badSig, credentials, { now: now() }))).toBe(
      'SignatureDoesNotMatch',
    );
    const otherKey = { ...req, rawPath: req.rawPath.replace('%281%29', '%282%29') };
    expect(await codeOf(() => verifyRequest(otherKey, credentials, { now: now() }))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  const algorithms: SdkChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
  for (const algorithm of algorithms) {
    it(`a stream body: aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER with a ${algorithm} trailer`, async () => {
      const body = Buffer.alloc(200_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 251;
      const c = await capture(() =>
        client.send(
          new PutObjectCommand({
            Bucket: 'b',
            Key: 'stream.bin',
            Body: Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]),
            ContentLength: body.length,
            ChecksumAlgorithm: algorithm,
          }),
        ),
      );
      const req = toRaw(c);
      expect(c.headers['content-encoding']).toBe('aws-chunked');
      const verified = verifyRequest(req, credentials, { now: now() });
      expect(verified).toMatchObject({
        payload: 'streaming-unsigned-trailer',
        trailer: algorithm,
        decodedContentLength: body.length,
      });
      expect(declaredPlaintextLength(req, verified)).toBe(body.length);
      const { out, result } = await verifyBody(req, verified, c.body);
      expect(out.equals(body)).toBe(true);
      expect(result?.checksum?.algorithm).toBe(algorithm);
      expect(result?.md5Hex).toBe(md5(body));

      const text = c.body.toString('latin1');
      const trailerAt = text.lastIndexOf(`x-amz-checksum-${algorithm.toLowerCase()}:`);
      const valueAt = text.indexOf(':', trailerAt) + 2;
      expect(await codeOf(() => verifyBody(req, verified, flip(c.body, 100)))).toBe('BadDigest');
      expect(await codeOf(() => verifyBody(req, verified, flip(c.body, valueAt)))).toMatch(
        /BadDigest|InvalidRequest/,
      );
      expect(await codeOf(() => verifyBody(req, verified, c.body.subarray(0, trailerAt)))).toBe(
        'IncompleteBody',
      );
      expect(await codeOf(() => verifyBody(req, verified, c.body.subarray(0, c.body.length - 100)))).toBe(
        'IncompleteBody',
      );
    });
  }

  it('Content-MD5 given by the caller is checked against the plaintext', async () => {
    const body = Buffer.from('checked by md5');
    const contentMd5 = createHash('md5').update(body).digest('base64');
    const c = await capture(() =>
      client.send(new PutObjectCommand({ Bucket: 'b', Key: 'md5', Body: body, ContentMD5: contentMd5 })),
    );
    const req = toRaw(c);
    const verified = verifyRequest(req, credentials, { now: now() });
    expect((await verifyBody(req, verified, c.body)).out.equals(body)).toBe(true);
    const otherMd5 = createHash('md5').update('x').digest('base64');
    const wrong: RawRequest = {
      ...req,
      headers: { ...req.headers, 'content-md5': otherMd5 },
      headersDistinct: { ...req.headersDistinct, 'content-md5': [otherMd5] },
    };
    // Content-MD5 is signed: changing it breaks the signature first...
    expect(await codeOf(() => verifyRequest(wrong, credentials, { now: now() }))).toBe(
      'SignatureDoesNotMatch',
    );
    // ...and a client that signed a wrong one gets BadDigest from the body check.
    expect(await codeOf(() => verifyBody(wrong, verified, c.body))).toBe('BadDigest');
  });
});

describe('@aws-sdk/client-s3 other operations', () => {
  it('GetObject of a key with reserved characters', async () => {
    const c = await capture(() => client.send(new GetObjectCommand({ Bucket: 'b', Key: KEY })));
    const verified = verifyRequest(toRaw(c), credentials, { now: now() });
    expect(verified.payload).toBe('signed');
    expect(verified.payloadSha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('ListObjectsV2 with a prefix holding unicode, spaces, "+" and "/"', async () => {
    const c = await capture(() =>
      client.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'dir ü/x+y=z', Delimiter: '/' })),
    );
    const req = toRaw(c);
    expect(req.rawQuery).toContain('prefix=dir%20%C3%BC%2Fx%2By%3Dz');
    expect(verifyRequest(req, credentials, { now: now() }).accessKeyId).toBe(ACCESS_KEY);
    const other = { ...req, rawQuery: req.rawQuery.replace('x%2By', 'x%20y') };
    expect(await codeOf(() => verifyRequest(other, credentials, { now: now() }))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('UploadPart with a stream body and uploadId/partNumber in the query', async () => {
    const body = Buffer.alloc(70_000, 'p');
    const c = await capture(() =>
      client.send(
        new UploadPartCommand({
          Bucket: 'b',
          Key: 'multi part',
          UploadId: 'up/id+with=odd',
          PartNumber: 3,
          Body: Readable.from([body]),
          ContentLength: body.length,
        }),
      ),
    );
    const req = toRaw(c);
    const verified = verifyRequest(req, credentials, { now: now() });
    expect((await verifyBody(req, verified, c.body)).out.equals(body)).toBe(true);
  });

  it('DeleteObjects: a POST with an XML body', async () => {
    const c = await capture(() =>
      client.send(
        new DeleteObjectsCommand({ Bucket: 'b', Delete: { Objects: [{ Key: 'a' }, { Key: 'b c' }] } }),
      ),
    );
    const req = toRaw(c);
    const verified = verifyRequest(req, credentials, { now: now() });
    expect((await verifyBody(req, verified, c.body)).out.equals(c.body)).toBe(true);
  });
});

function flipLastHex(authorization: string): string {
  return authorization.slice(0, -1) + (authorization.endsWith('0') ? '1' : '0');
}
