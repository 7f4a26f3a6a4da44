// Graceful shutdown of the built proxy as its own process (node dist/main.js, with the node
// flags production uses): SIGTERM in the middle of a large streaming PUT lets the PUT finish,
// turns /readyz 503 at once, refuses new connections, and exits 0 within the grace period.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startMinio } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startProxy } from '../../src/proxy.js';
import { killProxyChildren, startProxyChild as startChild } from '../helpers/proxy-child.js';
import type { ProxyChild } from '../helpers/proxy-child.js';
import { openSigned, responseOf } from '../helpers/raw-request.js';

const GRACE_SECONDS = 20;
const MiB = 1024 * 1024;

let minio: MinioServer;
let runDir: string;
beforeAll(async () => {
  minio = await startMinio();
  runDir = await mkdtemp(join(tmpdir(), 's3seal-shutdown-'));
});
afterAll(async () => {
  await minio?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

function isRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

async function until(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  log?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}\n${log?.() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What the proxy needs: MinIO, its credentials, a fresh keyring. */
function proxyEnv(): Record<string, string> {
  return {
    S3SEAL_UPSTREAM: minio.endpoint,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    S3SEAL_KEK_V1: randomBytes(32).toString('base64'),
    S3SEAL_KEK_ACTIVE: 'v1',
  };
}

/** Talks to MinIO directly. */
function rawClient(): S3Client {
  return new S3Client({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
  });
}

async function createBucket(): Promise<string> {
  const bucket = `b-${randomBytes(4).toString('hex')}`;
  const raw = rawClient();
  try {
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    raw.destroy();
  }
  return bucket;
}

/** The built proxy with a grace period of its own. */
const startProxyChild = (env: Record<string, string>, graceSeconds: number): Promise<ProxyChild> =>
  startChild({ ...env, S3SEAL_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) }, runDir);

afterAll(() => {
  killProxyChildren();
});

describe('graceful shutdown', () => {
  it('lets a large PUT in flight finish on SIGTERM, then exits 0', async () => {
    const env = proxyEnv();
    const bucket = await createBucket();
    const raw = rawClient();

    const { child, port, exited, readyz, log } = await startProxyChild(env, GRACE_SECONDS);

    // A 64 MiB PUT, streamed in 1 MiB pieces at a modest pace.
    const size = 64 * MiB;
    const piece = randomBytes(MiB);
    const put = openSigned(
      {
        url: `http://127.0.0.1:${port}`,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
      },
      { method: 'PUT', path: `/${bucket}/large`, headers: { 'content-length': String(size) } },
    );
    const answer = responseOf(put);
    const md5 = createHash('md5');
    const write = async (pieces: number): Promise<void> => {
      for (let i = 0; i < pieces; i++) {
        md5.update(piece);
        if (!put.write(piece)) await new Promise((resolve) => put.once('drain', resolve));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await write(16);

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    await until(async () => (await readyz()) === 503, 'readiness to turn 503');
    await until(() => isRefused(port), 'new connections to be refused');

    await write(48);
    put.end();
    const res = await answer;
    expect([res.status, res.body]).toEqual([200, '']);

    expect((await exited).code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_SECONDS * 1000);
    expect(log()).toContain('shutting down');

    // The object is whole: a new proxy with the same keyring reads it back.
    const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: 'large' }));
    expect(head.Metadata?.['s3seal-v']).toBe('1');
    const reader = await startProxy(
      loadConfig([], { ...env, S3SEAL_LISTEN: '127.0.0.1:0' }),
      pino({ level: 'silent' }),
    );
    try {
      const get = openSigned(
        { url: reader.url, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
        { method: 'GET', path: `/${bucket}/large` },
      );
      get.end();
      const readBack = createHash('md5');
      let length = 0;
      await new Promise<void>((resolve, reject) => {
        get.once('error', reject);
        get.once('response', (r) => {
          r.on('data', (chunk: Buffer) => {
            readBack.update(chunk);
            length += chunk.length;
          });
          r.once('end', resolve);
          r.once('error', reject);
        });
      });
      expect([length, readBack.digest('hex')]).toEqual([size, md5.digest('hex')]);
    } finally {
      await reader.close();
      raw.destroy();
    }
  });

  it('cuts what is still in flight when the grace period is over, storing nothing', async () => {
    const env = proxyEnv();
    const { child, port, exited, log } = await startProxyChild(env, 1);
    const bucket = await createBucket();
    const put = openSigned(
      {
        url: `http://127.0.0.1:${port}`,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
      },
      { method: 'PUT', path: `/${bucket}/stuck`, headers: { 'content-length': String(8 * MiB) } },
    );
    const answer = responseOf(put).then(
      (res) => res.status,
      (err: NodeJS.ErrnoException) => err.code,
    );
    // Written in full before the signal: the PUT is admitted and streaming upstream.
    await new Promise<void>((resolve) => put.write(randomBytes(MiB), () => resolve()));
    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
    expect(log()).toContain('shutdown grace period over');
    expect(await answer).toBe('ECONNRESET');
    put.destroy();
    const raw = rawClient();
    try {
      const listed = await raw.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents ?? []).toEqual([]);
    } finally {
      raw.destroy();
    }
  });
});
