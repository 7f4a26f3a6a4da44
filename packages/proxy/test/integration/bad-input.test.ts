// Raw malformed requests over a socket, through the real proxy and MinIO: a broken HTTP framing
// gets a close (or Node's own 4xx), everything else an S3 XML error; the proxy stays up, and
// nothing partial lands in the bucket (listed directly in MinIO at the end).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { connect } from 'node:net';
import { toAmzDate } from '../../src/auth/amz-date.js';
import { buildCanonicalRequest } from '../../src/auth/canonical-request.js';
import { deriveSigningKey, signatureOf } from '../../src/auth/signing-key.js';
import { requestStringToSign } from '../../src/auth/string-to-sign.js';
import { errorCode, sendSigned } from '../helpers/raw-request.js';
import type { RawTarget } from '../helpers/raw-request.js';
import { startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

let stack: Stack;
let target: RawTarget;
/** Keys a test stored on purpose; the bucket must hold exactly these at the end. */
const stored: string[] = [];
beforeAll(async () => {
  stack = await startStack();
  target = {
    url: stack.proxy.url,
    accessKeyId: stack.minio.accessKeyId,
    secretAccessKey: stack.minio.secretAccessKey,
  };
});
afterAll(async () => {
  await stack?.stop();
});

/** Writes raw bytes on a fresh connection; resolves with what came back once the proxy closes it or goes quiet. */
function exchange(bytes: Buffer | string, quietMs = 1500): Promise<{ text: string; isClosed: boolean }> {
  const url = new URL(stack.proxy.url);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const parts: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = (isClosed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(parts).toString('latin1'), isClosed });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), quietMs);
    };
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      arm();
    });
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
    socket.write(bytes);
    arm();
  });
}

/**
 * A signed request head (UNSIGNED-PAYLOAD) as raw text, the path exactly as given and signed as
 * sent (SDK signers refuse to sign a path that does not decode, which is the point here).
 */
function signedHead(method: string, path: string, extra: Record<string, string> = {}): string {
  const at = new Date();
  const amzDate = toAmzDate(at);
  const headers: Record<string, string> = {
    host: new URL(stack.proxy.url).host,
    'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-amz-date': amzDate,
    ...extra,
  };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = buildCanonicalRequest(
    { method, rawPath: path, rawQuery: '', headers },
    { method, canonicalUri: path, canonicalQuery: '', signedHeaders, payloadHash: 'UNSIGNED-PAYLOAD' },
  );
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const key = deriveSigningKey(stack.minio.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3');
  const signature = signatureOf(key, requestStringToSign(amzDate, scope, canonical));
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${stack.minio.accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  const lines = Object.entries(headers).map(([n, v]) => `${n}: ${v}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

async function rawKeys(): Promise<string[]> {
  const listed = await stack.raw.send(new ListObjectsV2Command({ Bucket: stack.bucket }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

describe('broken HTTP framing', () => {
  it('an oversized header block is refused (431) or the connection closed', async () => {
    const { text, isClosed } = await exchange(
      `GET /${stack.bucket}/x HTTP/1.1\r\nhost: a\r\nx-big: ${'a'.repeat(200_000)}\r\n\r\n`,
    );
    expect(isClosed || [400, 431].includes(statusOf(text))).toBe(true);
    if (statusOf(text) !== 0) expect([400, 431]).toContain(statusOf(text));
  });

  it.each([
    'HELLO\r\n\r\n',
    'GET\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    '\u0000\u0001\u0002\r\n\r\n',
    `PUT /x HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello`,
    `PUT /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`,
  ])('garbage %j: a 400 or a close', async (bytes) => {
    const { text, isClosed } = await exchange(bytes);
    expect(isClosed || statusOf(text) === 400).toBe(true);
    if (statusOf(text) !== 0) expect(statusOf(text)).toBeGreaterThanOrEqual(400);
  });
});

describe('bodies that disagree with Content-Length', () => {
  it('a body shorter than Content-Length stores nothing', async () => {
    const head = signedHead('PUT', `/${stack.bucket}/bad/short`, { 'content-length': '1000' });
    const { text } = await exchange(Buffer.concat([Buffer.from(head), Buffer.alloc(400, 1)]), 3000);
    // The proxy waits for the rest; whatever it answers, it is not a success.
    if (statusOf(text) !== 0) expect(statusOf(text)).toBeGreaterThanOrEqual(400);
    expect(await rawKeys()).not.toContain('bad/short');
  });

  it('bytes past Content-Length: the declared bytes stored whole, or nothing', async () => {
    const head = signedHead('PUT', `/${stack.bucket}/bad/long`, { 'content-length': '10' });
    const { text } = await exchange(
      Buffer.concat([
        Buffer.from(head),
        Buffer.from('0123456789'),
        Buffer.from('garbage after the body\r\n\r\n'),
      ]),
    );
    // Node's parser reads the extra bytes as a next request, finds it broken and answers 400 with
    // a close, which can abort the PUT before it completes: then nothing is stored.
    expect(text).toMatch(/HTTP\/1\.1 400/);
    if (statusOf(text) === 200) {
      stored.push('bad/long');
      const got = await sendSigned(target, { method: 'GET', path: `/${stack.bucket}/bad/long` });
      expect(got.body).toBe('0123456789');
    } else expect(await rawKeys()).not.toContain('bad/long');
  });
});

describe('keys with dot segments and percent tricks', () => {
  it.each([
    ['/BUCKET/bad/../escape', ['XMinioInvalidResourceName', 'InvalidURI', 'SignatureDoesNotMatch']],
    ['/BUCKET/./dot', ['XMinioInvalidResourceName', 'InvalidURI', 'SignatureDoesNotMatch']],
    ['/BUCKET%2Fbad-slash', ['InvalidURI', 'SignatureDoesNotMatch']],
    ['/BUCKET/bad/%C0%AF', ['InvalidURI', 'SignatureDoesNotMatch']],
    ['/BUCKET/bad/%FF', ['InvalidURI', 'SignatureDoesNotMatch']],
    ['/BUCKET/bad/%zz', ['InvalidURI', 'SignatureDoesNotMatch']],
  ])('PUT %s → an S3 error, nothing stored', async (path, codes) => {
    const head = signedHead('PUT', path.replace('BUCKET', stack.bucket), { 'content-length': '3' });
    const { text } = await exchange(`${head}abc`);
    expect(statusOf(text)).toBeGreaterThanOrEqual(400);
    expect(codes).toContain(errorCode(text));
  });

  it('%252F stays a literal %2F in the key', async () => {
    const put = await sendSigned(target, {
      method: 'PUT',
      path: `/${stack.bucket}/pct/a%252Fb`,
      body: Buffer.from('x'),
    });
    expect(put.status).toBe(200);
    expect(await rawKeys()).toContain('pct/a%2Fb');
    stored.push('pct/a%2Fb');
  });
});

describe('DeleteObjects bodies the backend must refuse', () => {
  const deleteBody = (inner: string): Buffer => Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>${inner}`);
  it.each([
    [
      'a DTD with entities',
      `<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>`,
    ],
    ['10 000 levels of nesting', `<Delete>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</Delete>`],
    [
      '1001 keys',
      `<Delete>${Array.from({ length: 1001 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('')}</Delete>`,
    ],
    ['unclosed tags', '<Delete><Object><Key>k'],
  ])('%s: an S3 error', async (_name, xml) => {
    const res = await sendSigned(target, {
      method: 'POST',
      path: `/${stack.bucket}?delete=`,
      body: deleteBody(xml),
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(errorCode(res.body)).toBeDefined();
  });
});

describe('afterwards', () => {
  it('the proxy still answers, and the bucket holds only whole objects', async () => {
    const listed = await stack.client.send(new ListObjectsV2Command({ Bucket: stack.bucket }));
    expect(listed.$metadata.httpStatusCode).toBe(200);
    expect((await rawKeys()).sort()).toEqual(stored.sort());
  });
});
