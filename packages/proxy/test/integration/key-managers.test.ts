// External key managers (issue 9) through the proxy, end to end: data keys wrapped by a real
// HashiCorp Vault Transit key (dev server, standing in for OpenBao) and by AWS KMS (moto_server),
// objects written and read with real clients against a real MinIO (and redis-server for
// multipart). Every write is checked at rest: MinIO holds ciphertext and the object records the
// key source that wrapped it (`s3seal-wrap`, `s3seal-kek`). The proxy fails closed when a key
// manager is down or refuses it, a KMS-wrapped object copied raw into another bucket does not
// open (the bucket is in the encryption context), and a policy moves from the keyring to Vault.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { putMultipart, startMinio, startMoto, startVault } from '@s3seal/testkit';
import type { MinioServer, MotoServer, VaultServer } from '@s3seal/testkit';
import { awsCli, boto3, targetOf } from '../helpers/clients.js';
import { errorCode, sendSigned } from '../helpers/raw-request.js';
import type { RawResponse } from '../helpers/raw-request.js';
import { expectCiphertextAtRest, readRaw, recognisable, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

// Client processes (aws cli, python) and server restarts take seconds: more than jest's 5 s
// default, which the integration project's testTimeout does not lift.
jest.setTimeout(120_000);

const KiB = 1024;
const MiB = 1024 * KiB;
/** One encrypted chunk (64 KiB) and then some: a multi-chunk object. */
const MULTI_CHUNK = 300 * KiB + 17;

let minio: MinioServer;
let work: string;
/** The Vault the describes share (started by the first that needs it; one describe has its own). */
let vault: VaultServer | undefined;
beforeAll(async () => {
  minio = await startMinio();
  work = await mkdtemp(join(tmpdir(), 's3seal-key-managers-'));
});
afterAll(async () => {
  await Promise.all([minio?.stop(), vault?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function sharedVault(): Promise<VaultServer> {
  return (vault ??= await startVault());
}

// ---- helpers ---------------------------------------------------------------------------------

/** Distinct, recognisable content per name, so a mix-up or a leak shows. */
function content(name: string, size: number): Buffer {
  return recognisable(size, `${name}: the quick brown fox jumps over the lazy dog; `);
}

function vaultEnv(server: VaultServer, key: string, token: string): Record<string, string> {
  return {
    S3SEAL_KEY_SOURCE: 'vault-transit',
    S3SEAL_VAULT_ADDRESS: server.address,
    S3SEAL_VAULT_KEY: key,
    S3SEAL_VAULT_TOKEN: token,
  };
}

async function put(client: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function get(client: S3Client, bucket: string, key: string, range?: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** Bytes compared without printing megabytes on a mismatch. */
function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  expect({ what, length: actual.length, equal: actual.equals(expected) }).toEqual({
    what,
    length: expected.length,
    equal: true,
  });
}

/** Ciphertext at rest, and the key source that wrapped its data key as the object records it. */
async function expectSealedBy(
  stack: Stack,
  key: string,
  plaintext: Buffer,
  wrap: string,
  kek: string,
  bucket = stack.bucket,
): Promise<void> {
  await expectCiphertextAtRest(stack, key, plaintext, bucket);
  const { metadata } = await readRaw(stack, key, bucket);
  expect({ key, wrap: metadata['s3seal-wrap'], kek: metadata['s3seal-kek'] }).toEqual({ key, wrap, kek });
}

/** One signed request to the proxy on a bare connection: the exact status and XML of an error. */
function viaProxy(stack: Stack, method: string, path: string, body?: Buffer): Promise<RawResponse> {
  return sendSigned(
    { url: stack.proxy.url, accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    { method, path, body },
  );
}

/** An S3 error answer: the status, the code of its XML body, and that it is an S3 XML error. */
function s3ErrorOf(res: RawResponse): { status: number; code: string | undefined; isXml: boolean } {
  return {
    status: res.status,
    code: errorCode(res.body),
    isXml:
      /^<\?xml[^>]*>\s*<Error>/.test(res.body) && /application\/xml/.test(res.headers['content-type'] ?? ''),
  };
}

/** Keys MinIO holds in a bucket. */
async function rawKeys(stack: Stack, bucket = stack.bucket): Promise<string[]> {
  const out = await stack.raw.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

interface Readiness {
  readonly status: number;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

async function readiness(stack: Stack): Promise<Readiness> {
  const res = await fetch(`${stack.proxy.healthUrl!}/readyz`);
  const body = (await res.json()) as { checks: Readiness['checks'] };
  return { status: res.status, checks: body.checks };
}

/** Polls /readyz until it answers `status` (key managers are probed every 10 s). */
async function readinessBecomes(stack: Stack, status: number, timeoutMs = 15_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await readiness(stack);
    if (now.status === status) return now;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${now.status}: ${JSON.stringify(now.checks)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---- Vault Transit ---------------------------------------------------------------------------

describe('Vault Transit wraps the data keys (token with the transit policy)', () => {
  const transitKey = 'proxy-objects';
  let v: VaultServer;
  let stack: Stack;
  beforeAll(async () => {
    v = await sharedVault();
    await v.createKey(transitKey);
    // A token with only the transit calls of a key provider, not the root token.
    const token = await v.createToken();
    stack = await startStack({ minio, valkey: true, env: vaultEnv(v, transitKey, token) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const small = content('sdk-small', 1000);
  const multi = content('sdk-multi', MULTI_CHUNK);

  it('PUT and GET with @aws-sdk/client-s3 (CRC32 checksums), small and multi-chunk', async () => {
    for (const [key, body] of [
      ['sdk/small.txt', small],
      ['sdk/multi.bin', multi],
    ] as const) {
      await put(stack.client, stack.bucket, key, body);
      expectSameBytes(await get(stack.client, stack.bucket, key), body, key);
      await expectSealedBy(stack, key, body, 'vault-transit', 'vault:v1');
    }
  });

  it('a ranged GET across a chunk boundary', async () => {
    const [from, to] = [64 * KiB - 100, 2 * 64 * KiB + 99];
    expectSameBytes(
      await get(stack.client, stack.bucket, 'sdk/multi.bin', `bytes=${from}-${to}`),
      multi.subarray(from, to + 1),
      `sdk/multi.bin bytes ${from}-${to}`,
    );
  });

  it('aws cli s3 cp up and down, small and multi-chunk', async () => {
    const aws = await awsCli(targetOf(stack));
    try {
      for (const [name, size] of [
        ['small.txt', 1000],
        ['multi.bin', MULTI_CHUNK],
      ] as const) {
        const body = content(`aws-${name}`, size);
        const file = join(work, `aws-${name}`);
        const back = join(work, `aws-${name}.back`);
        await writeFile(file, body);
        const key = `aws/${name}`;
        await aws.run(['s3', 'cp', file, `s3://${stack.bucket}/${key}`, '--no-progress']);
        await aws.run(['s3', 'cp', `s3://${stack.bucket}/${key}`, back, '--no-progress']);
        expectSameBytes(await readFile(back), body, key);
        await expectSealedBy(stack, key, body, 'vault-transit', 'vault:v1');
      }
    } finally {
      await aws.close();
    }
  });

  it('a multipart upload: one data key from Vault for the whole object', async () => {
    const key = 'multipart/big.bin';
    const parts = [content('part-1', 5 * MiB), content('part-2', 5 * MiB), content('part-3', 100 * KiB)];
    const whole = Buffer.concat(parts);
    await putMultipart(stack.client, stack.bucket, key, parts);
    expectSameBytes(await get(stack.client, stack.bucket, key), whole, key);
    const [from, to] = [5 * MiB - 70_000, 5 * MiB + 70_000];
    expectSameBytes(
      await get(stack.client, stack.bucket, key, `bytes=${from}-${to}`),
      whole.subarray(from, to + 1),
      `${key} across the part boundary`,
    );
    await expectSealedBy(stack, key, whole, 'vault-transit', 'vault:v1');
  });

  it('CopyObject within the bucket: the copy is sealed under Vault too and reads the same', async () => {
    const out = await stack.client.send(
      new CopyObjectCommand({
        Bucket: stack.bucket,
        Key: 'copy/multi.bin',
        CopySource: `${stack.bucket}/sdk/multi.bin`,
      }),
    );
    expect(out.CopyObjectResult?.ETag).toBeDefined();
    expectSameBytes(await get(stack.client, stack.bucket, 'copy/multi.bin'), multi, 'copy/multi.bin');
    await expectSealedBy(stack, 'copy/multi.bin', multi, 'vault-transit', 'vault:v1');
  });

  it('after a Transit key rotation new objects record vault:v2 and old ones still read', async () => {
    await v.rotateKey(transitKey);
    const fresh = content('after-rotation', MULTI_CHUNK);
    await put(stack.client, stack.bucket, 'rotated/new.bin', fresh);
    await expectSealedBy(stack, 'rotated/new.bin', fresh, 'vault-transit', 'vault:v2');
    expectSameBytes(await get(stack.client, stack.bucket, 'rotated/new.bin'), fresh, 'rotated/new.bin');
    // Old objects (v1), read through a fresh proxy so no cached data key is used.
    const cold = await startStack({
      minio,
      env: { ...vaultEnv(v, transitKey, await v.createToken()), S3SEAL_DEK_CACHE_SECONDS: '0' },
    });
    try {
      expectSameBytes(await get(cold.client, stack.bucket, 'sdk/small.txt'), small, 'sdk/small.txt (v1)');
      expectSameBytes(await get(cold.client, stack.bucket, 'sdk/multi.bin'), multi, 'sdk/multi.bin (v1)');
      expectSameBytes(await get(cold.client, stack.bucket, 'rotated/new.bin'), fresh, 'rotated/new.bin (v2)');
    } finally {
      await cold.stop();
    }
  });
});

describe('Vault down: the proxy fails closed, except for data keys it cached', () => {
  const transitKey = 'fail-closed';
  let own: VaultServer;
  let stack: Stack;
  beforeAll(async () => {
    // A Vault of its own (this one is killed). The root token: a restarted dev server forgets
    // every token made before, but keeps the root token, so the proxy can come back.
    own = await startVault();
    await own.createKey(transitKey);
    stack = await startStack({
      minio,
      env: {
        ...vaultEnv(own, transitKey, own.rootToken),
        S3SEAL_DEK_CACHE_SECONDS: '2',
        S3SEAL_METRICS_LISTEN: '127.0.0.1:0',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await own?.stop();
  });

  it('serves a cached object for the TTL, refuses everything else with 503 KeyManagerUnavailable, and /readyz fails', async () => {
    const a = content('object-a', MULTI_CHUNK);
    const b = content('object-b', 1000);
    await put(stack.client, stack.bucket, 'a.bin', a);
    await put(stack.client, stack.bucket, 'b.txt', b);
    const ready = await readinessBecomes(stack, 200);
    expect(ready.checks['keySource:vault']).toMatchObject({ ok: true });
    // Caches A's data key (the PUT does not: it is answered from the read).
    expectSameBytes(await get(stack.client, stack.bucket, 'a.bin'), a, 'a.bin before');

    await own.kill();
    const killedAt = Date.now();
    expectSameBytes(await get(stack.client, stack.bucket, 'a.bin'), a, 'a.bin from the cache');
    expect(Date.now() - killedAt).toBeLessThan(2000);

    expect(s3ErrorOf(await viaProxy(stack, 'GET', `/${stack.bucket}/b.txt`))).toEqual({
      status: 503,
      code: 'KeyManagerUnavailable',
      isXml: true,
    });
    const before = await rawKeys(stack);
    expect(s3ErrorOf(await viaProxy(stack, 'PUT', `/${stack.bucket}/c.txt`, content('c', 500)))).toEqual({
      status: 503,
      code: 'KeyManagerUnavailable',
      isXml: true,
    });
    expect(await rawKeys(stack)).toEqual(before);

    // Past the 2 s TTL, A's key is gone from the cache too.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + 2500 - Date.now())));
    expect(s3ErrorOf(await viaProxy(stack, 'GET', `/${stack.bucket}/a.bin`))).toEqual({
      status: 503,
      code: 'KeyManagerUnavailable',
      isXml: true,
    });

    const down = await readinessBecomes(stack, 503);
    expect(down.checks['keySource:vault']).toMatchObject({ ok: false });
    expect(down.checks['upstream']).toMatchObject({ ok: true });
  });

  it('with Vault back (a new dev server: new keys), /readyz recovers and new objects work', async () => {
    await own.restart();
    await own.createKey(transitKey);
    const fresh = content('after-restart', 2000);
    await put(stack.client, stack.bucket, 'after.txt', fresh);
    expectSameBytes(await get(stack.client, stack.bucket, 'after.txt'), fresh, 'after.txt');
    await expectSealedBy(stack, 'after.txt', fresh, 'vault-transit', 'vault:v1');
    // A's data key was wrapped by a key this Vault never had: it cannot be opened, not served.
    expect(s3ErrorOf(await viaProxy(stack, 'GET', `/${stack.bucket}/a.bin`))).toMatchObject({
      status: 500,
      code: 'DecryptionFailed',
    });
    const ready = await readinessBecomes(stack, 200);
    expect(ready.checks['keySource:vault']).toMatchObject({ ok: true });
  });
});

describe('Vault refuses the token', () => {
  it('a PUT gets 403 KeyManagerAccessDenied and nothing is stored', async () => {
    const transitKey = 'refused';
    const v = await sharedVault();
    await v.createKey(transitKey);
    // Only Vault's `default` policy: no transit path.
    const token = await v.createToken([]);
    const stack = await startStack({ minio, env: vaultEnv(v, transitKey, token) });
    try {
      const res = await viaProxy(stack, 'PUT', `/${stack.bucket}/refused.txt`, content('refused', 5000));
      expect(s3ErrorOf(res)).toEqual({ status: 403, code: 'KeyManagerAccessDenied', isXml: true });
      expect(await rawKeys(stack)).toEqual([]);
    } finally {
      await stack.stop();
    }
  });
});

// ---- AWS KMS ---------------------------------------------------------------------------------

describe('AWS KMS wraps the data keys (moto, key named by an alias)', () => {
  let moto: MotoServer;
  let stack: Stack;
  let arn: string;
  let other: string;
  beforeAll(async () => {
    moto = await startMoto();
    const created = await moto.createKey('s3seal proxy test');
    arn = created.arn;
    await moto.createAlias('alias/s3seal-test', created.keyId);
    stack = await startStack({
      minio,
      env: {
        S3SEAL_KEY_SOURCE: 'aws-kms',
        S3SEAL_KMS_KEY_ID: 'alias/s3seal-test',
        S3SEAL_KMS_ENDPOINT: moto.endpoint,
        S3SEAL_KMS_REGION: 'us-east-1',
        S3SEAL_KMS_ACCESS_KEY_ID: moto.accessKeyId,
        S3SEAL_KMS_SECRET_ACCESS_KEY: moto.secretAccessKey,
      },
    });
    other = `b-other-${randomBytes(4).toString('hex')}`;
    await stack.raw.send(new CreateBucketCommand({ Bucket: other }));
  });
  afterAll(async () => {
    await stack?.stop();
    await moto?.stop();
  });

  const sdkBody = content('kms-sdk', MULTI_CHUNK);

  it('PUT and GET with @aws-sdk/client-s3: the object records the key ARN behind the alias', async () => {
    expect(arn).toMatch(/^arn:aws:kms:us-east-1:\d{12}:key\//);
    await put(stack.client, stack.bucket, 'sdk.bin', sdkBody);
    expectSameBytes(await get(stack.client, stack.bucket, 'sdk.bin'), sdkBody, 'sdk.bin');
    await expectSealedBy(stack, 'sdk.bin', sdkBody, 'aws-kms', `kms:${arn}`);
  });

  it('put_object and get_object with boto3', async () => {
    const py = await boto3(targetOf(stack));
    try {
      for (const [key, size] of [
        ['boto3/small.txt', 1000],
        ['boto3/multi.bin', MULTI_CHUNK],
      ] as const) {
        const body = content(key, size);
        const file = join(work, key.replace('/', '-'));
        await writeFile(file, body);
        const result = await py.run<{ same: boolean; length: number }>(
          `
b, k = ARGS["bucket"], ARGS["key"]
body = open(ARGS["file"], "rb").read()
s3.put_object(Bucket=b, Key=k, Body=body)
got = s3.get_object(Bucket=b, Key=k)["Body"].read()
out({"same": got == body, "length": len(got)})
`,
          { bucket: stack.bucket, key, file },
        );
        expect({ key, ...result }).toEqual({ key, same: true, length: size });
        await expectSealedBy(stack, key, body, 'aws-kms', `kms:${arn}`);
      }
    } finally {
      await py.close();
    }
  });

  it('a raw copy into another bucket does not open: the bucket is in the encryption context', async () => {
    await stack.raw.send(
      new CopyObjectCommand({ Bucket: other, Key: 'sdk.bin', CopySource: `${stack.bucket}/sdk.bin` }),
    );
    // Byte for byte the sealed object, metadata and all; only the bucket differs.
    const [original, copied] = [await readRaw(stack, 'sdk.bin'), await readRaw(stack, 'sdk.bin', other)];
    expect(copied.body.equals(original.body)).toBe(true);
    expect(copied.metadata).toEqual(original.metadata);
    expect(s3ErrorOf(await viaProxy(stack, 'GET', `/${other}/sdk.bin`))).toEqual({
      status: 500,
      code: 'DecryptionFailed',
      isXml: true,
    });
  });

  it('CopyObject through the proxy into the other bucket re-wraps for it and reads the same', async () => {
    await stack.client.send(
      new CopyObjectCommand({ Bucket: other, Key: 'via-proxy.bin', CopySource: `${stack.bucket}/sdk.bin` }),
    );
    expectSameBytes(await get(stack.client, other, 'via-proxy.bin'), sdkBody, 'via-proxy.bin');
    await expectSealedBy(stack, 'via-proxy.bin', sdkBody, 'aws-kms', `kms:${arn}`, other);
  });
});

// ---- a policy moving from the keyring to Vault -------------------------------------------------

describe('moving from the keyring to Vault Transit', () => {
  const transitKey = 'moved-to';
  let ring: Stack;
  let both: Stack;
  let vaultOnly: Stack;
  let v: VaultServer;
  const old = content('written under the keyring', MULTI_CHUNK);
  const fresh = content('written under vault', 2000);
  beforeAll(async () => {
    v = await sharedVault();
    await v.createKey(transitKey);
    ring = await startStack({ minio });
  });
  afterAll(async () => {
    await vaultOnly?.stop();
    await both?.stop();
    await ring?.stop();
  });

  it('objects written by a keyring-only proxy record the keyring', async () => {
    await put(ring.client, ring.bucket, 'old.bin', old);
    await expectSealedBy(ring, 'old.bin', old, 'kwp', 'default:v1');
  });

  it('a proxy with the same keyring and keySource vault-transit reads them and seals new ones with Vault', async () => {
    both = await startStack({
      minio,
      keyringDir: ring.keyringDir,
      env: vaultEnv(v, transitKey, await v.createToken()),
    });
    expectSameBytes(await get(both.client, ring.bucket, 'old.bin'), old, 'old.bin via keyring + vault');
    await put(both.client, ring.bucket, 'new.txt', fresh);
    await expectSealedBy(ring, 'new.txt', fresh, 'vault-transit', 'vault:v1');
    expectSameBytes(await get(both.client, ring.bucket, 'new.txt'), fresh, 'new.txt');
    // The keyring proxy does not know Vault: it cannot open the new object either.
    expect(s3ErrorOf(await viaProxy(ring, 'GET', `/${ring.bucket}/new.txt`))).toEqual({
      status: 500,
      code: 'KeyUnavailable',
      isXml: true,
    });
  });

  it('a proxy with Vault only answers 500 KeyUnavailable for a keyring object', async () => {
    vaultOnly = await startStack({
      minio,
      env: { ...vaultEnv(v, transitKey, await v.createToken()), S3SEAL_KEK_DIR: '' },
    });
    expect(s3ErrorOf(await viaProxy(vaultOnly, 'GET', `/${ring.bucket}/old.bin`))).toEqual({
      status: 500,
      code: 'KeyUnavailable',
      isXml: true,
    });
    expectSameBytes(await get(vaultOnly.client, ring.bucket, 'new.txt'), fresh, 'new.txt via vault only');
  });
});
