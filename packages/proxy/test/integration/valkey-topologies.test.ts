// Multipart uploads through the proxy against the Valkey deployments it supports besides a plain
// server, each a set of real redis-server processes on loopback: an ACL user (with only the
// commands the upload state store needs), TLS with a private CA, Sentinel (with a failover in
// the middle of an upload) and Cluster (the upload's state on one slot).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { inspect } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  startMinio,
  startValkeyCluster,
  startValkeySentinel,
  startValkeyWithAcl,
  startValkeyWithTls,
} from '@s3seal/testkit';
import type {
  MinioServer,
  ValkeyAclServer,
  ValkeyClusterGroup,
  ValkeySentinelGroup,
  ValkeyTlsServer,
} from '@s3seal/testkit';
import { Redis } from 'ioredis';
import { expectCiphertextAtRest, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
// Several servers per topology and 12 MiB uploads on a shared 2-core machine.
jest.setTimeout(180_000);

let minio: MinioServer;
/** A stack without Valkey: its MinIO and keyring are shared by every topology's proxy. */
let base: Stack;
beforeAll(async () => {
  minio = await startMinio();
  base = await startStack({ minio });
});
afterAll(async () => {
  await base?.stop();
  await minio?.stop();
});

/** A proxy on the shared MinIO and keyring, its Valkey options given as environment variables. */
function startProxyWith(env: Record<string, string>): Promise<Stack> {
  return startStack({ minio, keyringDir: base.keyringDir, env });
}

/** Plaintext whose every 16 bytes differ ("000000000000123\n"): a misplaced byte shows. */
function numbered(size: number, from = 0): Buffer {
  const out = Buffer.alloc(size);
  for (let line = 0; line * 16 < size; line++) {
    const text = `${String(from + line).padStart(15, '0')}\n`;
    out.write(text, line * 16, Math.min(16, size - line * 16), 'latin1');
  }
  return out;
}

function clientOf(stack: Stack, options: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    endpoint: stack.proxy.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    ...options,
  });
}

async function read(stack: Stack, key: string, range?: string): Promise<Buffer> {
  const out = await stack.client.send(
    new GetObjectCommand({ Bucket: stack.bucket, Key: key, ...(range ? { Range: range } : {}) }),
  );
  return Buffer.from(await out.Body!.transformToByteArray());
}

/**
 * Uploads ~12 MiB with lib-storage (5 MiB parts, 2 at a time), reads it back whole and across
 * both part boundaries, and checks the backend holds ciphertext.
 */
async function uploadAndVerify(stack: Stack, key: string, client: S3Client = stack.client): Promise<void> {
  const body = numbered(12 * MiB + 4321, key.length * 1_000_000);
  const upload = new Upload({
    client,
    params: { Bucket: stack.bucket, Key: key, Body: body },
    partSize: PART,
    queueSize: 2,
  });
  const { ETag } = await upload.done();
  expect(ETag).toMatch(/-3"$/);
  expect((await read(stack, key)).equals(body)).toBe(true);
  for (const [start, end] of [
    [PART - 100, PART + 100],
    [2 * PART - 7, 2 * PART + 65_536],
  ] as const) {
    const part = await read(stack, key, `bytes=${start}-${end}`);
    expect([start, part.equals(body.subarray(start, end + 1))]).toEqual([start, true]);
  }
  await expectCiphertextAtRest(stack, key, body);
}

/** The error a proxy start failed with (it must fail). */
async function startFailure(env: Record<string, string>): Promise<Error & { code?: string }> {
  try {
    const stack = await startProxyWith(env);
    await stack.stop();
  } catch (err: unknown) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error('expected the proxy to refuse to start');
}

describe('an ACL user with only the commands the upload state store needs', () => {
  // The store uses MULTI/EXEC, HSET, EXPIRE, HGET, HGETALL and DEL on s3seal:* keys, the proxy
  // PING at start, ioredis INFO for its ready check (without it, ioredis warns and goes on).
  // HELLO and AUTH need no permission; CLIENT SETINFO may fail (ioredis ignores that).
  const rules = '~s3seal:* resetchannels -@all +ping +info +multi +exec +hset +expire +hget +hgetall +del';
  let valkey: ValkeyAclServer;
  beforeAll(async () => {
    valkey = await startValkeyWithAcl({ username: 's3seal', password: 'acl-secret-1', rules });
  });
  afterAll(async () => {
    await valkey?.stop();
  });

  it('the default user is off: without credentials the server refuses commands', async () => {
    const anonymous = new Redis(valkey.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // connect() only says "Connection is closed"; the error event says why.
    const errors: string[] = [];
    anonymous.on('error', (err: Error) => errors.push(err.message));
    try {
      await expect(anonymous.connect().then(() => anonymous.ping())).rejects.toThrow();
      expect(errors.join('\n')).toMatch(/^NOAUTH/m);
    } finally {
      anonymous.disconnect();
    }
  });

  it('uploads with the user in the URL and S3SEAL_VALKEY_PASSWORD', async () => {
    const stack = await startProxyWith({
      S3SEAL_VALKEY_URL: `redis://s3seal@${valkey.host}:${valkey.port}`,
      S3SEAL_VALKEY_PASSWORD: valkey.password,
    });
    try {
      await uploadAndVerify(stack, 'acl/password-option.bin');
    } finally {
      await stack.stop();
    }
  });

  it('uploads with user and password in the URL', async () => {
    const stack = await startProxyWith({
      S3SEAL_VALKEY_URL: `redis://s3seal:${valkey.password}@${valkey.host}:${valkey.port}`,
    });
    try {
      await uploadAndVerify(stack, 'acl/password-in-url.bin');
    } finally {
      await stack.stop();
    }
  });

  it('refuses to start with a wrong password, without printing it', async () => {
    const wrong = 'not-the-acl-secret';
    const err = await startFailure({
      S3SEAL_VALKEY_URL: `redis://s3seal@${valkey.host}:${valkey.port}`,
      S3SEAL_VALKEY_PASSWORD: wrong,
    });
    expect(err.code).toBe('S3SEAL_VALKEY_UNAVAILABLE');
    // WRONGPASS is the server's error code for a bad user or password.
    expect(err.message).toContain('WRONGPASS');
    expect(err.message).not.toContain(wrong);
    // Nor anything that prints the error with its causes (an uncaught error, a logger).
    expect(inspect(err, { depth: 10 })).not.toContain(wrong);
  });
});

describe('TLS with a private CA', () => {
  let valkey: ValkeyTlsServer;
  beforeAll(async () => {
    valkey = await startValkeyWithTls();
  });
  afterAll(async () => {
    await valkey?.stop();
  });

  it('uploads over rediss:// trusting S3SEAL_VALKEY_TLS_CA_FILE', async () => {
    const stack = await startProxyWith({
      S3SEAL_VALKEY_URL: valkey.url,
      S3SEAL_VALKEY_TLS_CA_FILE: valkey.caFile,
    });
    try {
      await uploadAndVerify(stack, 'tls/upload.bin');
    } finally {
      await stack.stop();
    }
  });

  it('uploads over rediss:// to an IP address (checked against the IP SAN, no SNI)', async () => {
    const stack = await startProxyWith({
      S3SEAL_VALKEY_URL: `rediss://127.0.0.1:${valkey.port}`,
      S3SEAL_VALKEY_TLS_CA_FILE: valkey.caFile,
    });
    try {
      await uploadAndVerify(stack, 'tls/by-ip.bin');
    } finally {
      await stack.stop();
    }
  });

  it('refuses to start without the CA: the certificate is not trusted', async () => {
    const err = await startFailure({ S3SEAL_VALKEY_URL: valkey.url });
    expect(err.code).toBe('S3SEAL_VALKEY_UNAVAILABLE');
    // redis-server sends the CA with its certificate (it is in tls-ca-cert-file): a self-signed
    // root Node does not trust; UNABLE_TO_VERIFY_LEAF_SIGNATURE if a server sends the leaf alone.
    expect(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']).toContain(
      (err.cause as { code?: string } | undefined)?.code,
    );
  });
});

describe('Sentinel: a primary, a replica, one sentinel', () => {
  let group: ValkeySentinelGroup;
  let stack: Stack;
  beforeAll(async () => {
    group = await startValkeySentinel({ name: 'mymaster', replicas: 1, sentinels: 1 });
    stack = await startProxyWith({
      // With sentinels the URL's host is not used; scheme, credentials and db still are.
      S3SEAL_VALKEY_URL: 'redis://sentinel-managed',
      S3SEAL_VALKEY_SENTINELS: group.sentinelAddresses,
      S3SEAL_VALKEY_SENTINEL_NAME: group.name,
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await group?.stop();
  });

  it('uploads through the primary the sentinel names', async () => {
    await uploadAndVerify(stack, 'sentinel/upload.bin');
    // The state went to the primary and was replicated; Complete deleted it on both.
    for (const server of [group.primary, group.replicas[0]!]) {
      const redis = new Redis(server.url);
      try {
        expect(await redis.keys('s3seal:mpu:*')).toEqual([]);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('after the primary is stopped mid-upload, answers 503 until the replica is promoted, then completes', async () => {
    const once = clientOf(stack, { maxAttempts: 1 });
    try {
      const key = 'sentinel/failover.bin';
      const parts = [numbered(PART, 0), numbered(PART, 1_000_000), numbered(4321, 2_000_000)];
      const { UploadId } = await once.send(
        new CreateMultipartUploadCommand({ Bucket: stack.bucket, Key: key }),
      );
      const uploadPart = async (n: number): Promise<string> => {
        const out = await once.send(
          new UploadPartCommand({
            Bucket: stack.bucket,
            Key: key,
            UploadId,
            PartNumber: n,
            Body: parts[n - 1],
          }),
        );
        return out.ETag!;
      };
      const etags = [await uploadPart(1)];

      const before = await group.currentPrimary();
      expect(before.port).toBe(group.primary.port);
      // SIGTERM: redis-server lets the replica catch up before it exits, so part 1's record survives.
      await group.primary.stop();

      // Part 2 is retried as a client would, at most ~45 s: every failure must be a 503.
      const failures: { name: string; status: number | undefined }[] = [];
      const deadline = Date.now() + 45_000;
      for (;;) {
        try {
          etags.push(await uploadPart(2));
          break;
        } catch (err: unknown) {
          if (!(err instanceof S3ServiceException) || Date.now() > deadline) throw err;
          failures.push({ name: err.name, status: err.$metadata.httpStatusCode });
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      expect(failures.length).toBeGreaterThan(0);
      expect(new Set(failures.map((f) => `${f.status} ${f.name}`))).toEqual(
        new Set(['503 ServiceUnavailable']),
      );
      expect((await group.waitForFailover(before.port)).port).toBe(group.replicas[0]!.port);

      etags.push(await uploadPart(3));
      await once.send(
        new CompleteMultipartUploadCommand({
          Bucket: stack.bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
        }),
      );
      const body = Buffer.concat(parts);
      expect((await read(stack, key)).equals(body)).toBe(true);
      const start = PART - 10;
      expect(
        (await read(stack, key, `bytes=${start}-${start + 20}`)).equals(body.subarray(start, start + 21)),
      ).toBe(true);
      await expectCiphertextAtRest(stack, key, body);
      // And a whole lib-storage upload on the promoted replica.
      await uploadAndVerify(stack, 'sentinel/after-failover.bin');
    } finally {
      once.destroy();
    }
  });
});

describe('Cluster: three primaries', () => {
  let cluster: ValkeyClusterGroup;
  let stack: Stack;
  beforeAll(async () => {
    cluster = await startValkeyCluster({ primaries: 3 });
    stack = await startProxyWith({ S3SEAL_VALKEY_URL: cluster.url, S3SEAL_VALKEY_CLUSTER: 'true' });
  });
  afterAll(async () => {
    await stack?.stop();
    await cluster?.stop();
  });

  /** Where an upload's state is, node by node: the keys naming the upload, and their slots. */
  async function locateState(
    uploadId: string,
  ): Promise<{ port: number; key: string; slot: number; ownsSlot: boolean; fields: string[] }[]> {
    const found = [];
    for (const node of cluster.nodes) {
      const redis = new Redis(node.url);
      try {
        for (const key of await redis.keys('s3seal:*')) {
          if (!key.includes(uploadId)) continue;
          const slot = (await redis.call('CLUSTER', 'KEYSLOT', key)) as number;
          const inSlot = (await redis.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))) as number;
          found.push({ port: node.port, key, slot, ownsSlot: inSlot > 0, fields: await redis.hkeys(key) });
        }
      } finally {
        redis.disconnect();
      }
    }
    return found;
  }

  it('uploads, with the state of the upload in flight on one slot of one node', async () => {
    const client = clientOf(stack);
    let seen: Awaited<ReturnType<typeof locateState>> | undefined;
    let uploadId: string | undefined;
    // Looks at the nodes when lib-storage sends Complete: every part is recorded by then.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CompleteMultipartUploadCommand') {
          uploadId = (args.input as { UploadId: string }).UploadId;
          seen = await locateState(uploadId);
        }
        return next(args);
      },
      { step: 'initialize', name: 'locateUploadState' },
    );
    try {
      await uploadAndVerify(stack, 'cluster/upload.bin', client);
    } finally {
      client.destroy();
    }
    expect(seen).toHaveLength(1);
    const [state] = seen!;
    expect(state).toMatchObject({ key: `s3seal:mpu:{${uploadId}}`, ownsSlot: true });
    expect(state!.fields.sort()).toEqual(['part:1', 'part:2', 'part:3', 'state']);
    const redis = new Redis(cluster.url);
    try {
      // The hash tag: the slot is that of the upload id alone.
      expect(await redis.call('CLUSTER', 'KEYSLOT', uploadId!)).toBe(state!.slot);
    } finally {
      redis.disconnect();
    }
    // Complete deleted it.
    expect(await locateState(uploadId!)).toEqual([]);
  });
});
