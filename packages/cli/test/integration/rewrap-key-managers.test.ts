// `s3seal rewrap --proxy-config` moving objects between key sources against a real MinIO and a
// real HashiCorp Vault (dev server, Transit): objects written through the proxy under the local
// keyring are re-wrapped server-side under a Transit key (the proxy's YAML configuration names
// the sources, the token comes from S3SEAL_VAULT_TOKEN), a proxy that knows Vault alone then
// reads every one of them, a second run finds them current, and after a Transit key rotation
// another run moves them to v2. A derived Transit key (a per-object key from the context) is
// rotated and rewrapped too.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMinio, startValkey, startVault } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer, VaultServer } from '@s3seal/testkit';
import { expectCiphertextAtRest, startStack } from '../../../proxy/test/helpers/stack.js';
import type { Stack } from '../../../proxy/test/helpers/stack.js';
import type { BulkSummary } from '../../src/bulk/summary.js';
import { expectSameBytes, numbered, put, putMultipart, rawMetadata, read, runCli } from '../helpers/cli.js';

jest.setTimeout(120_000);

const KiB = 1024;
const MiB = 1024 * KiB;

let minio: MinioServer;
let valkey: ValkeyServer;
let vault: VaultServer;
let work: string;
let keyringDir: string;

beforeAll(async () => {
  [minio, valkey, vault] = await Promise.all([startMinio(), startValkey(), startVault()]);
  work = await mkdtemp(join(tmpdir(), 's3seal-cli-kms-'));
  keyringDir = join(work, 'keyring');
  expect((await runCli(['keygen', keyringDir], minio)).code).toBe(0);
});
afterAll(async () => {
  await Promise.all([minio?.stop(), valkey?.stop(), vault?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

/** A proxy configuration file (YAML) naming the keyring and a Transit key, Vault active. */
async function proxyConfig(name: string, transitKey: string, withKeyring: boolean): Promise<string> {
  const file = join(work, `${name}.yaml`);
  await writeFile(
    file,
    [
      'keySource: vault-transit',
      `vaultAddress: ${vault.address}`,
      `vaultKey: ${transitKey}`,
      ...(withKeyring ? [`kekDir: ${keyringDir}`, 'keyringId: default'] : []),
      '',
    ].join('\n'),
  );
  return file;
}

/** `rewrap s3://bucket/prefix --proxy-config file --json`; the summary, failing on a non-zero exit. */
async function rewrap(url: string, config: string, token: string): Promise<BulkSummary> {
  const res = await runCli(['rewrap', url, '--path-style', '--proxy-config', config, '--json'], minio, {
    S3SEAL_VAULT_TOKEN: token,
  });
  expect({ code: res.code, stderr: res.code === 0 ? '' : res.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(res.stdout) as BulkSummary;
}

/** A proxy that knows the Transit key only: no keyring at all. */
function vaultOnlyProxy(transitKey: string, token: string): Promise<Stack> {
  return startStack({
    minio,
    valkey,
    env: {
      S3SEAL_KEK_DIR: '',
      S3SEAL_KEY_SOURCE: 'vault-transit',
      S3SEAL_VAULT_ADDRESS: vault.address,
      S3SEAL_VAULT_KEY: transitKey,
      S3SEAL_VAULT_TOKEN: token,
      // Every read unwraps with Vault: nothing is answered from a cached data key.
      S3SEAL_DEK_CACHE_SECONDS: '0',
    },
  });
}

describe('s3seal rewrap --proxy-config: from the keyring to Vault Transit', () => {
  const transitKey = 'migrate-to';
  let ring: Stack;
  let bucket: string;
  let token: string;
  let config: string;
  const objects: Record<string, Buffer> = {
    'mig/small.txt': Buffer.from('moved from the keyring to Vault, not re-encrypted'),
    'mig/chunks.bin': numbered(300 * KiB + 5),
  };
  const parts = [numbered(5 * MiB), numbered(MiB + 3, 5 * MiB)];
  const whole = Buffer.concat(parts);
  const keys = [...Object.keys(objects), 'mig/multipart.bin'].sort();
  const plaintextOf = (key: string): Buffer => objects[key] ?? whole;
  const kekOf = async (key: string): Promise<[string | undefined, string | undefined]> => {
    const meta = await rawMetadata(ring.raw, bucket, key);
    return [meta['s3seal-wrap'], meta['s3seal-kek']];
  };

  beforeAll(async () => {
    await vault.createKey(transitKey);
    token = await vault.createToken();
    config = await proxyConfig('migrate', transitKey, true);
    ring = await startStack({ minio, valkey, keyringDir });
    bucket = ring.bucket;
    for (const [key, body] of Object.entries(objects)) await put(ring.client, bucket, key, body);
    await putMultipart(ring.client, bucket, 'mig/multipart.bin', parts);
    for (const key of keys) expect(await kekOf(key)).toEqual(['kwp', 'default:v1']);
  });
  afterAll(async () => {
    await ring?.stop();
  });

  it('re-wraps every keyring object under the Transit key', async () => {
    const summary = await rewrap(`s3://${bucket}/mig/`, config, token);
    expect(summary.counts).toEqual({ rewrapped: 3, current: 0, legacy: 0, failed: 0 });
    for (const key of keys) {
      expect({ key, kek: await kekOf(key) }).toEqual({ key, kek: ['vault-transit', 'vault:v1'] });
      await expectCiphertextAtRest(ring, key, plaintextOf(key));
    }
    // inspect names the key source and does not pretend the keyring holds its version.
    const inspected = await runCli(['inspect', `s3://${bucket}/${keys[0]}`, '--path-style'], minio);
    expect(inspected.stdout).toMatch(
      /key source +vault \(vault-transit\)\n +key version +v1 \(held by the key manager\)/,
    );
  });

  it('a proxy with Vault only (no keyring) reads every one of them', async () => {
    const proxy = await vaultOnlyProxy(transitKey, await vault.createToken());
    try {
      for (const key of keys) expectSameBytes(await read(proxy.client, bucket, key), plaintextOf(key), key);
      const [from, to] = [5 * MiB - 70_000, 5 * MiB + 70_000];
      expectSameBytes(
        await read(proxy.client, bucket, 'mig/multipart.bin', `bytes=${from}-${to}`),
        whole.subarray(from, to + 1),
        'mig/multipart.bin across the part boundary',
      );
    } finally {
      await proxy.stop();
    }
  });

  it('a second run finds them current', async () => {
    const summary = await rewrap(`s3://${bucket}/mig/`, config, token);
    expect(summary.counts).toEqual({ rewrapped: 0, current: 3, legacy: 0, failed: 0 });
  });

  it('after a Transit key rotation, a run moves them to vault:v2 (no keyring needed any more)', async () => {
    await vault.rotateKey(transitKey);
    const vaultOnlyConfig = await proxyConfig('vault-only', transitKey, false);
    const summary = await rewrap(`s3://${bucket}/mig/`, vaultOnlyConfig, token);
    expect(summary.counts).toEqual({ rewrapped: 3, current: 0, legacy: 0, failed: 0 });
    for (const key of keys)
      expect({ key, kek: await kekOf(key) }).toEqual({ key, kek: ['vault-transit', 'vault:v2'] });
    // v1 can no longer decrypt: only a real re-wrap under v2 keeps the objects readable.
    const config = await vault.request('POST', `${vault.mount}/keys/${transitKey}/config`, {
      min_decryption_version: 2,
    });
    expect(config.status).toBeLessThan(300);
    const proxy = await vaultOnlyProxy(transitKey, await vault.createToken());
    try {
      for (const key of keys) expectSameBytes(await read(proxy.client, bucket, key), plaintextOf(key), key);
    } finally {
      await proxy.stop();
    }
  });
});

describe('s3seal rewrap --proxy-config with a derived Transit key', () => {
  const transitKey = 'derived-key';
  let writer: Stack;
  let token: string;
  const objects: Record<string, Buffer> = {
    'derived/a.txt': Buffer.from('a data key wrapped by a per-context derived Transit key'),
    'derived/b.bin': numbered(200 * KiB + 1),
  };
  const kekOf = async (key: string): Promise<string | undefined> =>
    (await rawMetadata(writer.raw, writer.bucket, key))['s3seal-kek'];

  beforeAll(async () => {
    await vault.createKey(transitKey, { derived: true });
    token = await vault.createToken();
    writer = await vaultOnlyProxy(transitKey, token);
    for (const [key, body] of Object.entries(objects)) await put(writer.client, writer.bucket, key, body);
    for (const key of Object.keys(objects)) expect(await kekOf(key)).toBe('vault:v1');
  });
  afterAll(async () => {
    await writer?.stop();
  });

  it('after a rotation, rewrap moves the objects to vault:v2 and they still read', async () => {
    await vault.rotateKey(transitKey);
    const config = await proxyConfig('derived', transitKey, false);
    const summary = await rewrap(`s3://${writer.bucket}/derived/`, config, token);
    expect(summary.counts).toEqual({ rewrapped: 2, current: 0, legacy: 0, failed: 0 });
    const res = await vault.request('POST', `${vault.mount}/keys/${transitKey}/config`, {
      min_decryption_version: 2,
    });
    expect(res.status).toBeLessThan(300);
    for (const [key, body] of Object.entries(objects)) {
      expect({ key, kek: await kekOf(key) }).toEqual({ key, kek: 'vault:v2' });
      expectSameBytes(await read(writer.client, writer.bucket, key), body, key);
      await expectCiphertextAtRest(writer, key, body);
    }
    expect((await rewrap(`s3://${writer.bucket}/derived/`, config, token)).counts).toEqual({
      rewrapped: 0,
      current: 2,
      legacy: 0,
      failed: 0,
    });
  });
});
