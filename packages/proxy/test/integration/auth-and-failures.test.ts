// Requests that must never reach the backend (bad signatures, unknown keys, SSE-C, multipart
// until it lands) and failures of the backend itself, through the real proxy and MinIO.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  CreateMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import aws4 from 'aws4';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startProxy } from '../../src/proxy.js';
import { expectCiphertextAtRest, readRaw, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';
import { s3Error } from '../helpers/s3-error.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

function clientWith(accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint: stack.proxy.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
}

describe('client authentication', () => {
  it('refuses a wrong secret with SignatureDoesNotMatch and stores nothing', async () => {
    const err = await s3Error(
      clientWith(stack.minio.accessKeyId, 'wrong-secret-0123456789').send(
        new PutObjectCommand({ Bucket: stack.bucket, Key: 'auth/wrong', Body: 'x' }),
      ),
    );
    expect(err).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    expect((await s3Error(readRaw(stack, 'auth/wrong'))).name).toBe('NoSuchKey');
  });

  it('refuses an unknown access key', async () => {
    const err = await s3Error(
      clientWith('AKIDUNKNOWN', 'whatever-secret').send(
        new GetObjectCommand({ Bucket: stack.bucket, Key: 'x' }),
      ),
    );
    expect(err).toEqual({ name: 'InvalidAccessKeyId', status: 403 });
  });

  it('refuses an unsigned request', async () => {
    const res = await fetch(`${stack.proxy.url}/${stack.bucket}/anything`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>AccessDenied</Code>');
  });

  it('serves a presigned GET URL and refuses it once altered', async () => {
    const body = randomBytes(70_000);
    await stack.client.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'auth/presigned', Body: body }),
    );
    const url = new URL(stack.proxy.url);
    const signed = aws4.sign(
      {
        host: url.host,
        path: `/${stack.bucket}/auth/presigned?X-Amz-Expires=300`,
        service: 's3',
        region: 'us-east-1',
        signQuery: true,
      },
      { accessKeyId: stack.minio.accessKeyId, secretAccessKey: stack.minio.secretAccessKey },
    );
    const res = await fetch(`${stack.proxy.url}${signed.path}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
    const altered = await fetch(
      `${stack.proxy.url}${signed.path!.replace('auth/presigned', 'auth/presigneD')}`,
    );
    expect(altered.status).toBe(403);
  });
});

describe('refusals', () => {
  it('refuses SSE-C', async () => {
    const err = await s3Error(
      stack.client.send(
        new PutObjectCommand({
          Bucket: stack.bucket,
          Key: 'ssec/x',
          Body: 'x',
          SSECustomerAlgorithm: 'AES256',
          SSECustomerKey: randomBytes(32).toString('base64'),
        }),
      ),
    );
    expect(err.status).toBe(501);
  });

  it('refuses multipart uploads until they are encrypted', async () => {
    const err = await s3Error(
      stack.client.send(new CreateMultipartUploadCommand({ Bucket: stack.bucket, Key: 'mp/x' })),
    );
    expect(err).toEqual({ name: 'NotImplemented', status: 501 });
  });

  it('keeps content encodings but not the aws-chunked framing', async () => {
    const body = randomBytes(100_000);
    await stack.client.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'enc/gz', Body: body, ContentEncoding: 'gzip' }),
    );
    const raw = await stack.raw.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'enc/gz' }));
    expect(raw.ContentEncoding).toBe('gzip');
    await expectCiphertextAtRest(stack, 'enc/gz', body);
  });
});

describe('backend failures', () => {
  it('answers 503 when the upstream cannot be reached', async () => {
    const config = loadConfig([], {
      S3SEAL_LISTEN: '127.0.0.1:0',
      S3SEAL_UPSTREAM: 'http://127.0.0.1:9', // discard port: nothing listens
      S3SEAL_KEK_DIR: stack.keyringDir,
      AWS_ACCESS_KEY_ID: stack.minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.minio.secretAccessKey,
    });
    const proxy = await startProxy(config, pino({ level: 'silent' }));
    const client = new S3Client({
      endpoint: proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: stack.minio.accessKeyId, secretAccessKey: stack.minio.secretAccessKey },
    });
    try {
      const err = await s3Error(client.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'x' })));
      expect(err).toEqual({ name: 'UpstreamUnavailable', status: 503 });
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});
