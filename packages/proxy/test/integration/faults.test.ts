// Faults with real processes: MinIO killed or frozen (SIGKILL, SIGSTOP) in the middle of a PUT or
// a GET, a TCP relay that resets or slows the proxy's upstream connections, redis-server killed
// and frozen during a multipart upload, the proxy itself killed mid-upload, and the keyring
// directory swapped under traffic. Whatever happens, a client sees an error or a complete
// request, never a short body with a success; nothing partial is stored; a retry succeeds once
// the fault clears. Figures (outcomes, recovery times) go to stderr with the `faults:` prefix.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  killServer,
  pauseServer,
  resumeServer,
  startFaultProxy,
  startMinio,
  startValkey,
} from '@s3seal/testkit';
import type { FaultProxy, MinioServer, ValkeyServer } from '@s3seal/testkit';
import { Redis } from 'ioredis';
import { killProxyChildren, startProxyChild as startChild } from '../helpers/proxy-child.js';
import type { ProxyChild } from '../helpers/proxy-child.js';
import { errorCode, openSigned, responseOf } from '../helpers/raw-request.js';
import type { RawTarget } from '../helpers/raw-request.js';
import { s3Error } from '../helpers/s3-error.js';
import { expectCiphertextAtRest, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
/** ioredis commandTimeout in src/state/valkey-client.ts: a frozen Valkey fails a command after it. */
const VALKEY_COMMAND_TIMEOUT_MS = 5_000;

let minio: MinioServer;
let valkey: ValkeyServer;
let stack: Stack;
let runDir: string;
/** 32 MiB of random plaintext (random: a short or shifted body cannot match by accident). */
const big = randomBytes(32 * MiB);
const bigHash = sha256(big);

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 's3seal-faults-'));
  minio = await startMinio();
  valkey = await startValkey({ allowExternal: false });
  stack = await startStack({ minio, valkey });
});
afterAll(async () => {
  killProxyChildren();
  await stack?.stop();
  await minio?.stop();
  await valkey?.stop();
  if (runDir) await rm(runDir, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function figure(what: string, value: unknown): void {
  process.stderr.write(`faults: ${what}: ${JSON.stringify(value)}\n`);
}

function targetOf(url: string): RawTarget {
  return { url, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
}

/** A client that does not retry: a fault must show, not be hidden behind a second attempt. */
function onceClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    maxAttempts: 1,
  });
}

type PutOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly body: string }
  | { readonly kind: 'error'; readonly code: string };

/**
 * Streams `body` as one PUT in 1 MiB pieces, calling `fault` once `faultAt` bytes are written;
 * stops writing as soon as the request has an answer or fails.
 */
async function streamPut(
  url: string,
  path: string,
  body: Buffer,
  faultAt = Infinity,
  fault: () => Promise<void> | void = () => undefined,
): Promise<PutOutcome> {
  const req = openSigned(targetOf(url), {
    method: 'PUT',
    path,
    headers: { 'content-length': String(body.length) },
  });
  let isSettled = false;
  const outcome = responseOf(req).then(
    (res): PutOutcome => ({ kind: 'response', status: res.status, body: res.body }),
    (err: NodeJS.ErrnoException): PutOutcome => ({ kind: 'error', code: err.code ?? err.message }),
  );
  void outcome.then(() => (isSettled = true));
  let hasFaulted = false;
  for (let at = 0; at < body.length && !isSettled; at += MiB) {
    if (!hasFaulted && at >= faultAt) {
      hasFaulted = true;
      await fault();
    }
    const ok = req.write(body.subarray(at, at + MiB));
    if (!ok) {
      await Promise.race([new Promise((resolve) => req.once('drain', resolve)), outcome]);
    }
  }
  if (!isSettled) req.end();
  const result = await outcome;
  req.destroy();
  return result;
}

interface GetOutcome {
  readonly status: number;
  readonly contentLength: number | undefined;
  readonly length: number;
  readonly hash: string;
  /** The response ended cleanly (`end`, all of Content-Length or the last chunk received). */
  readonly isComplete: boolean;
  /** Why the body failed, when it did. */
  readonly error: string | undefined;
}

/** A GET on its own connection, body hashed as it comes; `onBody` runs once, at the first chunk. */
function rawGet(
  url: string,
  path: string,
  onBody: (res: IncomingMessage) => Promise<void> | void = () => undefined,
): Promise<GetOutcome> {
  const req = openSigned(targetOf(url), { method: 'GET', path });
  req.end();
  return new Promise((resolve, reject) => {
    req.once('error', (err: NodeJS.ErrnoException) =>
      resolve({
        status: 0,
        contentLength: undefined,
        length: 0,
        hash: '',
        isComplete: false,
        error: err.code ?? err.message,
      }),
    );
    req.once('response', (res) => {
      const hash = createHash('sha256');
      let length = 0;
      let error: string | undefined;
      let hasStarted = false;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        if (!hasStarted) {
          hasStarted = true;
          Promise.resolve(onBody(res)).catch(reject);
        }
      });
      res.once('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
      res.once('close', () => {
        const header = res.headers['content-length'];
        resolve({
          status: res.statusCode ?? 0,
          contentLength: header === undefined ? undefined : Number(header),
          length,
          hash: hash.digest('hex'),
          isComplete: res.complete && error === undefined,
          error: error ?? (res.complete ? undefined : 'incomplete'),
        });
      });
    });
  });
}

/** A GET that succeeded has every byte; one that did not, failed visibly: never a short success. */
function expectWholeOrFailed(out: GetOutcome, size: number, hash: string): 'whole' | 'failed' {
  if (out.isComplete && out.status === 200) {
    expect([out.length, out.hash]).toEqual([size, hash]);
    return 'whole';
  }
  expect(out.isComplete && out.status === 200).toBe(false);
  // A failed body is cut: fewer bytes than its Content-Length announced, with an error.
  if (out.status === 200) {
    expect(out.error).toBeDefined();
    expect(out.length).toBeLessThan(out.contentLength ?? Infinity);
  }
  return 'failed';
}

async function until<T>(attempt: () => Promise<T>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err: unknown) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function storedKeys(bucket: string, prefix: string): Promise<string[]> {
  const out = await stack.raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

/** MinIO again on its port (fresh data), with the stack's bucket; resolves with the time it took. */
async function restartMinio(): Promise<number> {
  const started = Date.now();
  minio = await startMinio({ restartOf: minio });
  await stack.raw.send(new CreateBucketCommand({ Bucket: stack.bucket }));
  return Date.now() - started;
}

/** A PUT + GET through the proxy, retried until it works; resolves with the time to the first success. */
async function retryPutGet(key: string, body: Buffer): Promise<number> {
  const started = Date.now();
  const client = onceClient(stack.proxy.url);
  try {
    await until(
      () => client.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body })),
      `a PUT of ${key} to succeed`,
    );
    const elapsed = Date.now() - started;
    const out = await rawGet(stack.proxy.url, `/${stack.bucket}/${key}`);
    expect([out.status, out.isComplete, out.length, out.hash]).toEqual([
      200,
      true,
      body.length,
      sha256(body),
    ]);
    await expectCiphertextAtRest(stack, key, body);
    return elapsed;
  } finally {
    client.destroy();
  }
}

describe('MinIO frozen or killed', () => {
  it('a GET across a 3 s SIGSTOP of MinIO completes whole, or fails visibly', async () => {
    const key = 'minio/paused-get';
    const put = await streamPut(stack.proxy.url, `/${stack.bucket}/${key}`, big);
    expect(put).toMatchObject({ kind: 'response', status: 200 });
    await expectCiphertextAtRest(stack, key, big);

    const started = Date.now();
    const out = await rawGet(stack.proxy.url, `/${stack.bucket}/${key}`, async (res) => {
      // Frozen with most of the object still to come: the client stops reading too, so MinIO
      // cannot have sent it all into socket buffers before the freeze.
      res.pause();
      pauseServer(minio);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      resumeServer(minio);
      res.resume();
    });
    const result = expectWholeOrFailed(out, big.length, bigHash);
    figure('MinIO SIGSTOP 3 s mid-GET (32 MiB)', { result, error: out.error, ms: Date.now() - started });
    // Resumed: the same GET works.
    const again = await rawGet(stack.proxy.url, `/${stack.bucket}/${key}`);
    expect(expectWholeOrFailed(again, big.length, bigHash)).toBe('whole');
  });

  it('a GET cut by SIGKILL of MinIO ends in an error, not a short clean body; reads work after a restart', async () => {
    const key = 'minio/killed-get';
    expect(await streamPut(stack.proxy.url, `/${stack.bucket}/${key}`, big)).toMatchObject({
      kind: 'response',
      status: 200,
    });
    await expectCiphertextAtRest(stack, key, big);

    const out = await rawGet(stack.proxy.url, `/${stack.bucket}/${key}`, async (res) => {
      res.pause();
      await killServer(minio);
      res.resume();
    });
    expect(expectWholeOrFailed(out, big.length, bigHash)).toBe('failed');
    const restartMs = await restartMinio();
    const recoveryMs = await retryPutGet(key, big.subarray(0, 4 * MiB));
    figure('MinIO SIGKILL mid-GET (32 MiB)', {
      status: out.status,
      received: out.length,
      contentLength: out.contentLength,
      error: out.error,
      restartMs,
      firstSuccessAfterRestartMs: recoveryMs,
    });
  });

  it('a streaming 32 MiB PUT cut by SIGKILL of MinIO fails, stores nothing, and the retry works', async () => {
    const key = 'minio/killed-put';
    const dataDir = minio.dataDir;
    const started = Date.now();
    const out = await streamPut(stack.proxy.url, `/${stack.bucket}/${key}`, big, 8 * MiB, () =>
      killServer(minio),
    );
    const failedAfterMs = Date.now() - started;
    // An error: 503 UpstreamUnavailable, or the connection cut (when the proxy's answer races
    // the rest of the body).
    if (out.kind === 'response')
      expect([out.status, errorCode(out.body)]).toEqual([503, 'UpstreamUnavailable']);
    // The killed MinIO's drive holds no object of that name (its data stays on disk).
    expect(existsSync(join(dataDir, stack.bucket, key))).toBe(false);
    const restartMs = await restartMinio();
    expect(await storedKeys(stack.bucket, 'minio/')).toEqual([]);
    const recoveryMs = await retryPutGet(key, big);
    figure('MinIO SIGKILL mid-PUT (32 MiB, at 8 MiB)', {
      outcome: out.kind === 'response' ? { status: out.status, code: errorCode(out.body) } : out,
      failedAfterMs,
      restartMs,
      firstSuccessAfterRestartMs: recoveryMs,
    });
  });
});

describe('upstream connection reset and slowed (a TCP relay between the proxy and MinIO)', () => {
  let relay: FaultProxy;
  let relayed: Stack;
  beforeAll(async () => {
    relay = await startFaultProxy(minio.endpoint);
    relayed = await startStack({ minio, keyringDir: stack.keyringDir, env: { S3SEAL_UPSTREAM: relay.url } });
  });
  afterAll(async () => {
    await relayed?.stop();
    await relay?.close();
  });

  it('a PUT whose upstream connection is reset fails and keeps the previous version', async () => {
    const key = 'relay/put';
    const client = onceClient(relayed.proxy.url);
    try {
      const previous = big.subarray(0, 3 * MiB);
      await client.send(new PutObjectCommand({ Bucket: relayed.bucket, Key: key, Body: previous }));
      await expectCiphertextAtRest(relayed, key, previous);

      relay.setMode({ kind: 'reset-after', bytes: 2 * MiB, direction: 'upstream' });
      const out = await streamPut(relayed.proxy.url, `/${relayed.bucket}/${key}`, big.subarray(0, 8 * MiB));
      relay.setMode({ kind: 'pass' });
      expect(relay.resets).toBeGreaterThan(0);
      // Was 500 InternalError: the socket's error, which undici also destroys the body with, won
      // over the upstream failure (src/ops/sealed-body.ts).
      if (out.kind === 'response')
        expect([out.status, errorCode(out.body)]).toEqual([503, 'UpstreamUnavailable']);
      // The previous complete version, read raw and through the proxy.
      await expectCiphertextAtRest(relayed, key, previous);
      const back = await rawGet(relayed.proxy.url, `/${relayed.bucket}/${key}`);
      expect([back.status, back.length, back.hash]).toEqual([200, previous.length, sha256(previous)]);

      const started = Date.now();
      const next = big.subarray(MiB, 9 * MiB);
      await client.send(new PutObjectCommand({ Bucket: relayed.bucket, Key: key, Body: next }));
      await expectCiphertextAtRest(relayed, key, next);
      const retried = await rawGet(relayed.proxy.url, `/${relayed.bucket}/${key}`);
      expect([retried.length, retried.hash]).toEqual([next.length, sha256(next)]);
      figure('upstream reset after 2 MiB of an 8 MiB PUT', {
        outcome: out.kind === 'response' ? { status: out.status, code: errorCode(out.body) } : out,
        retryMs: Date.now() - started,
      });
    } finally {
      client.destroy();
    }
  });

  it('a GET whose upstream connection is reset mid-body fails visibly', async () => {
    const key = 'relay/get';
    const body = big.subarray(0, 8 * MiB);
    const client = onceClient(relayed.proxy.url);
    try {
      await client.send(new PutObjectCommand({ Bucket: relayed.bucket, Key: key, Body: body }));
      await expectCiphertextAtRest(relayed, key, body);
    } finally {
      client.destroy();
    }
    relay.setMode({ kind: 'reset-after', bytes: 2 * MiB, direction: 'downstream' });
    const out = await rawGet(relayed.proxy.url, `/${relayed.bucket}/${key}`);
    relay.setMode({ kind: 'pass' });
    expect(expectWholeOrFailed(out, body.length, sha256(body))).toBe('failed');
    const again = await until(async () => {
      const res = await rawGet(relayed.proxy.url, `/${relayed.bucket}/${key}`);
      if (expectWholeOrFailed(res, body.length, sha256(body)) !== 'whole') throw new Error(res.error);
      return res;
    }, 'a GET to succeed after the reset');
    expect(again.length).toBe(body.length);
    figure('upstream reset after 2 MiB of an 8 MiB GET', {
      status: out.status,
      received: out.length,
      contentLength: out.contentLength,
      error: out.error,
    });
  });

  it('a slowed upstream (each chunk held 5 ms) completes PUT and GET correctly', async () => {
    const key = 'relay/slow';
    const body = big.subarray(2 * MiB, 6 * MiB);
    relay.setMode({ kind: 'delay', ms: 5 });
    try {
      const started = Date.now();
      const put = await streamPut(relayed.proxy.url, `/${relayed.bucket}/${key}`, body);
      expect(put).toMatchObject({ kind: 'response', status: 200 });
      const putMs = Date.now() - started;
      const out = await rawGet(relayed.proxy.url, `/${relayed.bucket}/${key}`);
      expect([out.status, out.isComplete, out.length, out.hash]).toEqual([
        200,
        true,
        body.length,
        sha256(body),
      ]);
      figure('slow upstream (5 ms per chunk), 4 MiB', { putMs, getMs: Date.now() - started - putMs });
    } finally {
      relay.setMode({ kind: 'pass' });
    }
    await expectCiphertextAtRest(relayed, key, body);
  });
});

/** One multipart upload driven call by call. */
class Upload {
  uploadId = '';
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly key: string,
  ) {}

  async create(): Promise<this> {
    const out = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key }),
    );
    this.uploadId = out.UploadId!;
    return this;
  }

  async part(n: number, body: Buffer, client = this.client): Promise<string> {
    const out = await client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: n,
        Body: body,
      }),
    );
    return out.ETag!;
  }

  async complete(etags: string[], client = this.client): Promise<void> {
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
      }),
    );
  }
}

describe('redis-server killed or frozen during a multipart upload', () => {
  const parts = [
    big.subarray(0, 5 * MiB),
    big.subarray(5 * MiB, 10 * MiB),
    big.subarray(10 * MiB, 10 * MiB + 4321),
  ];
  const whole = Buffer.concat(parts);

  async function expectUploaded(key: string): Promise<void> {
    const out = await rawGet(stack.proxy.url, `/${stack.bucket}/${key}`);
    expect([out.status, out.isComplete, out.length, out.hash]).toEqual([
      200,
      true,
      whole.length,
      sha256(whole),
    ]);
    await expectCiphertextAtRest(stack, key, whole);
  }

  it('SIGKILL: the part during the outage gets 503, the retried part and Complete succeed after a restart', async () => {
    const client = onceClient(stack.proxy.url);
    try {
      const upload = await new Upload(client, stack.bucket, 'valkey/killed').create();
      const etags = [await upload.part(1, parts[0]!)];
      // redis-server here keeps no data across a restart: the state is carried over by hand, as
      // persistence or a promoted replica would.
      const stateKey = `s3seal:mpu:{${upload.uploadId}}`;
      let redis = new Redis(valkey.url);
      const dumped = await redis.dumpBuffer(stateKey);
      redis.disconnect();
      expect(dumped).not.toBeNull();
      await killServer(valkey);

      const failed = await s3Error(upload.part(2, parts[1]!));
      expect(failed.status).toBe(503);
      expect(['ServiceUnavailable', 'SlowDown']).toContain(failed.name);

      const restarted = Date.now();
      valkey = await startValkey({ port: valkey.port });
      redis = new Redis(valkey.url);
      await redis.restore(stateKey, 0, dumped);
      redis.disconnect();
      etags.push(await until(() => upload.part(2, parts[1]!), 'UploadPart to succeed after the restart'));
      const recoveryMs = Date.now() - restarted;
      etags.push(await upload.part(3, parts[2]!));
      await upload.complete(etags);
      await expectUploaded(upload.key);
      figure('redis-server SIGKILL during multipart', { failed, firstPartAfterRestartMs: recoveryMs });
    } finally {
      client.destroy();
    }
  });

  it(`SIGSTOP: the part during the freeze gets 503 within the ${VALKEY_COMMAND_TIMEOUT_MS} ms command timeout, the retry succeeds after SIGCONT`, async () => {
    const client = onceClient(stack.proxy.url);
    try {
      const upload = await new Upload(client, stack.bucket, 'valkey/paused').create();
      const etags = [await upload.part(1, parts[0]!)];
      pauseServer(valkey);
      let failedAfterMs: number;
      let failed;
      try {
        const started = Date.now();
        failed = await s3Error(upload.part(2, parts[1]!));
        failedAfterMs = Date.now() - started;
      } finally {
        resumeServer(valkey);
      }
      expect(failed.status).toBe(503);
      expect(['ServiceUnavailable', 'SlowDown']).toContain(failed.name);
      // Bounded by the command timeout (plus the part's own transfer), not hanging: a generous margin.
      expect(failedAfterMs).toBeLessThan(VALKEY_COMMAND_TIMEOUT_MS * 4);
      const resumed = Date.now();
      etags.push(await until(() => upload.part(2, parts[1]!), 'UploadPart to succeed after SIGCONT'));
      const recoveryMs = Date.now() - resumed;
      etags.push(await upload.part(3, parts[2]!));
      await upload.complete(etags);
      await expectUploaded(upload.key);
      figure('redis-server SIGSTOP during multipart', {
        failed,
        failedAfterMs,
        firstPartAfterResumeMs: recoveryMs,
      });
    } finally {
      client.destroy();
    }
  });
});

// ---- the proxy itself killed -----------------------------------------------------------------

const startProxyChild = (env: Record<string, string>): Promise<ProxyChild> => startChild(env, runDir);

describe('the proxy killed (SIGKILL) mid-upload', () => {
  let env: Record<string, string>;
  beforeAll(() => {
    env = {
      S3SEAL_UPSTREAM: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      S3SEAL_KEK_DIR: stack.keyringDir,
      S3SEAL_VALKEY_URL: valkey.url,
    };
  });

  it('a single PUT: the client is cut off and nothing is stored', async () => {
    const proxy = await startProxyChild(env);
    const key = 'killed-proxy/single';
    const out = await streamPut(proxy.url, `/${stack.bucket}/${key}`, big, 8 * MiB, async () => {
      proxy.child.kill('SIGKILL');
      await proxy.exited;
    });
    expect(out.kind).toBe('error');
    expect(await storedKeys(stack.bucket, 'killed-proxy/')).toEqual([]);
    // A new proxy takes the retry.
    const next = await startProxyChild(env);
    try {
      const started = Date.now();
      expect(await streamPut(next.url, `/${stack.bucket}/${key}`, big)).toMatchObject({
        kind: 'response',
        status: 200,
      });
      const back = await rawGet(next.url, `/${stack.bucket}/${key}`);
      expect([back.status, back.isComplete, back.length, back.hash]).toEqual([
        200,
        true,
        big.length,
        bigHash,
      ]);
      await expectCiphertextAtRest(stack, key, big);
      figure('proxy SIGKILL mid-PUT (32 MiB, at 8 MiB)', {
        outcome: out,
        retryPutGetMs: Date.now() - started,
      });
    } finally {
      next.child.kill('SIGKILL');
      await next.exited;
    }
  });

  it('multipart: completed parts stay invisible until a restarted proxy (same Valkey) completes the upload', async () => {
    const parts = [
      big.subarray(0, 5 * MiB),
      big.subarray(5 * MiB, 10 * MiB),
      big.subarray(10 * MiB, 12 * MiB),
    ];
    const key = 'killed-proxy/multipart';
    const first = await startProxyChild(env);
    const firstClient = onceClient(first.url);
    const upload = await new Upload(firstClient, stack.bucket, key).create();
    const etags = [await upload.part(1, parts[0]!), await upload.part(2, parts[1]!)];
    firstClient.destroy();
    // Part 3 streams when the proxy dies.
    const cut = await streamPut(
      first.url,
      `/${stack.bucket}/${key}?partNumber=3&uploadId=${encodeURIComponent(upload.uploadId)}`,
      big.subarray(10 * MiB, 26 * MiB),
      4 * MiB,
      async () => {
        first.child.kill('SIGKILL');
        await first.exited;
      },
    );
    expect(cut.kind).toBe('error');
    expect(await storedKeys(stack.bucket, key)).toEqual([]);
    await expect(stack.raw.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }))).rejects.toThrow();

    const second = await startProxyChild(env);
    const secondClient = onceClient(second.url);
    try {
      const started = Date.now();
      etags.push(await upload.part(3, parts[2]!, secondClient));
      await upload.complete(etags, secondClient);
      const whole = Buffer.concat(parts);
      const back = await rawGet(second.url, `/${stack.bucket}/${key}`);
      expect([back.status, back.isComplete, back.length, back.hash]).toEqual([
        200,
        true,
        whole.length,
        sha256(whole),
      ]);
      await expectCiphertextAtRest(stack, key, whole);
      figure('proxy SIGKILL mid-UploadPart, continued by a new proxy', {
        outcome: cut,
        continueAndCompleteMs: Date.now() - started,
      });
    } finally {
      secondClient.destroy();
      second.child.kill('SIGKILL');
      await second.exited;
    }
  });
});

// ---- keyring rotation under traffic ------------------------------------------------------------

/**
 * Writes a keyring directory the way the kubelet projects a Secret: files in a timestamped
 * directory, `..data` a link to it, each key a link through `..data`. A later call swaps
 * `..data` atomically (rename of a new link over it), then adds links for new keys.
 */
async function projectSecret(dir: string, files: Record<string, string>, generation: number): Promise<void> {
  const stamp = `..2025_01_01_00_00_0${generation}.${randomBytes(4).toString('hex')}`;
  await mkdir(join(dir, stamp));
  for (const [name, value] of Object.entries(files)) await writeFile(join(dir, stamp, name), value);
  await symlink(stamp, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    if (!existsSync(join(dir, name))) await symlink(join('..data', name), join(dir, name));
  }
}

describe('keyring directory replaced mid-traffic', () => {
  it('8 clients looping PUT/GET for ~9 s see no failure across a v1 → v2 rotation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3seal-kek-k8s-'));
    const v1 = randomBytes(32).toString('base64');
    const v2 = randomBytes(32).toString('base64');
    await projectSecret(dir, { v1, active: 'v1' }, 1);
    const rotating = await startStack({ minio, keyringDir: dir });
    const client = onceClient(rotating.proxy.url);
    interface Written {
      readonly key: string;
      readonly body: Buffer;
      readonly startedAt: number;
      readonly endedAt: number;
    }
    const written: Written[] = [];
    const failures: unknown[] = [];
    try {
      const startedAt = Date.now();
      const endAt = startedAt + 9_000;
      let swappedAt = Infinity;
      const loop = async (n: number): Promise<void> => {
        for (let i = 0; Date.now() < endAt; i++) {
          const key = `rotation/c${n}/${i}`;
          const body = randomBytes(16 * 1024 + Math.floor(Math.random() * 48 * 1024));
          const began = Date.now();
          try {
            await client.send(new PutObjectCommand({ Bucket: rotating.bucket, Key: key, Body: body }));
            const ended = Date.now();
            const out = await client.send(new GetObjectCommand({ Bucket: rotating.bucket, Key: key }));
            const back = Buffer.from(await out.Body!.transformToByteArray());
            if (!back.equals(body)) throw new Error(`${key} read back different bytes`);
            written.push({ key, body, startedAt: began, endedAt: ended });
          } catch (err: unknown) {
            failures.push(err);
          }
        }
      };
      const swap = (async (): Promise<void> => {
        await new Promise((resolve) => setTimeout(resolve, 4_000));
        swappedAt = Date.now();
        await projectSecret(dir, { v1, v2, active: 'v2' }, 2);
      })();
      await Promise.all([...Array.from({ length: 8 }, (_, n) => loop(n)), swap]);
      expect(failures).toEqual([]);

      // Every object reads back (those of v1 too), and each is wrapped by the KEK active when written.
      const keks = new Map<string, string>();
      for (let at = 0; at < written.length; at += 16) {
        await Promise.all(
          written.slice(at, at + 16).map(async ({ key, body }) => {
            const head = await rotating.raw.send(
              new HeadObjectCommand({ Bucket: rotating.bucket, Key: key }),
            );
            keks.set(key, head.Metadata?.['s3seal-kek'] ?? '');
            const out = await client.send(new GetObjectCommand({ Bucket: rotating.bucket, Key: key }));
            expect(Buffer.from(await out.Body!.transformToByteArray()).equals(body)).toBe(true);
          }),
        );
      }
      const before = written.filter((w) => w.endedAt < swappedAt);
      const after = written.filter((w) => w.startedAt > swappedAt + 2_000);
      expect(before.length).toBeGreaterThan(0);
      expect(after.length).toBeGreaterThan(0);
      for (const w of before)
        expect([w.key, keks.get(w.key)]).toEqual([w.key, expect.stringMatching(/:v1$/)]);
      for (const w of after) expect([w.key, keks.get(w.key)]).toEqual([w.key, expect.stringMatching(/:v2$/)]);
      // Ciphertext at rest, on a sample.
      for (let at = 0; at < written.length; at += Math.max(1, Math.floor(written.length / 24))) {
        await expectCiphertextAtRest(rotating, written[at]!.key, written[at]!.body);
      }
      const firstV2 = Math.min(
        ...written.filter((w) => keks.get(w.key)?.endsWith(':v2')).map((w) => w.startedAt),
      );
      figure('keyring swap under 8 clients', {
        requests: written.length * 2,
        failures: failures.length,
        v1Objects: [...keks.values()].filter((k) => k.endsWith(':v1')).length,
        v2Objects: [...keks.values()].filter((k) => k.endsWith(':v2')).length,
        firstV2ObjectStartedAfterSwapMs: firstV2 - swappedAt,
      });
    } finally {
      client.destroy();
      await rotating.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
