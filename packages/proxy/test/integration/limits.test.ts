// The S3 listener's limits against real MinIO and redis-server: too many requests in flight,
// a request head too large, a client that stops sending its body, bodies too large.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientRequest } from 'node:http';
import {
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startMinio } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';
import { errorCode, openSigned, responseOf, sendSigned } from '../helpers/raw-request.js';
import type { RawResponse, RawTarget } from '../helpers/raw-request.js';
import { s3Error } from '../helpers/s3-error.js';
import { startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

let minio: MinioServer;
/** Two requests in flight at most, 1 MiB PUTs, a 2 s idle timeout, multipart on. */
let stack: Stack;
beforeAll(async () => {
  minio = await startMinio();
  stack = await startStack({
    minio,
    valkey: true,
    env: {
      S3SEAL_MAX_INFLIGHT: '2',
      S3SEAL_MAX_PUT_BYTES: String(1024 * 1024),
      S3SEAL_IDLE_TIMEOUT_SECONDS: '2',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

function target(): RawTarget {
  return { url: stack.proxy.url, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
}

/** A PUT whose headers and first bytes are sent, the rest held back. */
function holdPut(key: string, length: number, first: number): ClientRequest {
  const req = openSigned(target(), {
    method: 'PUT',
    path: `/${stack.bucket}/${key}`,
    headers: { 'content-length': String(length) },
  });
  req.write(randomBytes(first));
  return req;
}

async function storedKeys(prefix: string): Promise<string[]> {
  const out = await stack.raw.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/** The first line of the proxy's log that contains `text`, waiting up to 2 s for it to be written. */
async function logMentions(text: string): Promise<string> {
  for (let i = 0; i < 40; i++) {
    const line = (await readFile(stack.logFile!, 'utf8')).split('\n').find((l) => l.includes(text));
    if (line !== undefined) return line;
    await sleep(50);
  }
  throw new Error(`no log line mentions ${text}`);
}

describe('limits', () => {
  it('answers 503 SlowDown beyond S3SEAL_MAX_INFLIGHT, before reading the body, and serves again after', async () => {
    const held = [holdPut('inflight/a', 4096, 10), holdPut('inflight/b', 4096, 10)];
    const answers = held.map((req) => responseOf(req));
    // The two held PUTs are admitted as soon as their heads arrive; until then a third may pass.
    let third: RawResponse;
    do {
      third = await sendSigned(target(), { method: 'GET', path: `/${stack.bucket}?list-type=2` });
    } while (third.status === 200);
    expect(third.status).toBe(503);
    expect(errorCode(third.body)).toBe('SlowDown');
    expect(third.headers['connection']).toBe('close');
    // Refusals are summed into a warning (not one line each), naming the limit.
    await expect(logMentions('refused with 503 SlowDown')).resolves.toMatch(/maxInflight 2/);

    for (const req of held) req.end(randomBytes(4096 - 10));
    expect((await Promise.all(answers)).map((a) => a.status)).toEqual([200, 200]);
    expect((await sendSigned(target(), { method: 'GET', path: `/${stack.bucket}?list-type=2` })).status).toBe(
      200,
    );
  });

  it('answers 431 (from Node, without an S3 body) to a request head over S3SEAL_MAX_HEADER_BYTES', async () => {
    const res = await sendSigned(target(), {
      method: 'GET',
      path: `/${stack.bucket}?list-type=2`,
      headers: { 'x-amz-meta-big': 'x'.repeat(20_000) },
    });
    expect(res.status).toBe(431);
    // What an SDK makes of it: the status, and no S3 error code to go by.
    const client = new S3Client({
      endpoint: stack.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const failure = await s3Error(
        client.send(
          new PutObjectCommand({
            Bucket: stack.bucket,
            Key: 'headers/big',
            Body: 'x',
            Metadata: { big: 'x'.repeat(20_000) },
          }),
        ),
      );
      expect(failure.status).toBe(431);
    } finally {
      client.destroy();
    }
  });

  it.each([
    ['streamed', 300_000],
    ['small (read whole)', 1000],
  ])(
    'cuts a %s body that stops arriving with 400 RequestTimeout, and stores nothing',
    async (_kind, length) => {
      const req = holdPut(`idle/${length}`, length, 100);
      const res = await responseOf(req);
      expect(res.status).toBe(400);
      expect(errorCode(res.body)).toBe('RequestTimeout');
      expect(res.headers['connection']).toBe('close');
      await new Promise<void>((resolve) => req.once('close', () => resolve()));
      expect(await storedKeys('idle/')).toEqual([]);
    },
  );

  it('keeps a body that arrives slowly but steadily', async () => {
    const req = holdPut('idle/steady', 200, 0);
    const answer = responseOf(req);
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      req.write(randomBytes(25));
    }
    req.end();
    expect((await answer).status).toBe(200);
    expect(await storedKeys('idle/steady')).toEqual(['idle/steady']);
  });

  it('refuses a PUT over S3SEAL_MAX_PUT_BYTES and an UploadPart over 5 GiB with EntityTooLarge', async () => {
    const client = new S3Client({
      endpoint: stack.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      expect(
        await s3Error(
          client.send(
            new PutObjectCommand({
              Bucket: stack.bucket,
              Key: 'big/put',
              Body: randomBytes(1024 * 1024 + 1),
            }),
          ),
        ),
      ).toEqual({ name: 'EntityTooLarge', status: 400 });
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({ Bucket: stack.bucket, Key: 'big/part' }),
      );
      // Declared, never sent: the answer comes before the body.
      const part = openSigned(target(), {
        method: 'PUT',
        path: `/${stack.bucket}/big/part?partNumber=1&uploadId=${encodeURIComponent(UploadId!)}`,
        headers: { 'content-length': String(5 * 1024 ** 3 + 1) },
      });
      const res = await responseOf(part);
      part.destroy();
      expect([res.status, errorCode(res.body)]).toEqual([400, 'EntityTooLarge']);
    } finally {
      client.destroy();
    }
    expect(await storedKeys('big/')).toEqual([]);
  });
});
