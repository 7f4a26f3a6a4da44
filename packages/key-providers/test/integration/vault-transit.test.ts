import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeySourceSet, META, openEnvelopeWith, rewrapEnvelopeWith, sealEnvelopeWith } from '@s3seal/core';
import { VaultTransitSource } from '@s3seal/key-providers';
import type { VaultTransitOptions } from '@s3seal/key-providers';
import { startKubeApi, startVault, transitPolicy } from '@s3seal/testkit';
import type { KubeApi, VaultServer } from '@s3seal/testkit';

// Wrapping and unwrapping data keys with a real Vault Transit engine (dev mode, built from
// source by scripts/test-deps.sh): versions, rotation and rewrap, derived keys, refused and
// rotated tokens, and a server that stops answering.
const here = { bucket: 'backups', key: 'pg/base.tar' };
const seal = (sources: KeySourceSet) =>
  sealEnvelopeWith(sources, here.bucket, { objectKey: here.key, layout: 'single', plaintextSize: 42 });

describe('VaultTransitSource', () => {
  let vault: VaultServer;
  let token: string;
  const opened: VaultTransitSource[] = [];
  const source = async (
    options: Partial<VaultTransitOptions> & { key: string },
  ): Promise<VaultTransitSource> => {
    const s = await VaultTransitSource.create({
      id: 'vault',
      address: vault.address,
      auth: { method: 'token', token },
      timeoutMs: 1500,
      ...options,
    });
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    vault = await startVault();
    token = await vault.createToken();
  });

  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await vault?.stop();
  });

  it('wraps with the newest key version, records it, and opens only in the same context', async () => {
    await vault.createKey('plain');
    const sources = new KeySourceSet(await source({ key: 'plain' }));
    const sealed = await seal(sources);
    expect(sealed.metadata[META.wrap]).toBe('vault-transit');
    expect(sealed.metadata[META.kek]).toBe('vault:v1');
    // Transit's own ciphertext (nonce, data key, tag), without its vault:v1: prefix.
    expect(sealed.info.wrappedDek.length).toBe(12 + 32 + 16);
    expect((await openEnvelopeWith(sources, sealed.metadata, here)).dek.equals(sealed.dek)).toBe(true);
    for (const elsewhere of [
      { ...here, bucket: 'other' },
      { ...here, key: 'pg/other' },
    ]) {
      await expect(openEnvelopeWith(sources, sealed.metadata, elsewhere)).rejects.toMatchObject({
        code: 'S3SEAL_KEY_UNWRAP_FAILED',
      });
    }
  });

  it('after a rotation: new objects get v2, old ones still open, and rewrap moves them to v2', async () => {
    await vault.createKey('rotating');
    const vaultSource = await source({ key: 'rotating' });
    const sources = new KeySourceSet(vaultSource);
    const old = await seal(sources);
    await vault.rotateKey('rotating');
    await expect(vaultSource.check()).resolves.toMatchObject({ ok: true, reason: 'TransitKeyUsable' });
    expect(vaultSource.isActiveVersion('v1')).toBe(false);
    expect(vaultSource.isActiveVersion('v2')).toBe(true);
    expect((await seal(sources)).metadata[META.kek]).toBe('vault:v2');
    const rewrapped = await rewrapEnvelopeWith(sources, old.metadata, here);
    expect(rewrapped.metadata[META.kek]).toBe('vault:v2');
    expect((await openEnvelopeWith(sources, rewrapped.metadata, here)).dek.equals(old.dek)).toBe(true);
    expect((await openEnvelopeWith(sources, old.metadata, here)).dek.equals(old.dek)).toBe(true);
  });

  it('uses a derived key with the context, and Transit’s own rewrap, which never returns the data key', async () => {
    await vault.createKey('derived', { derived: true });
    const vaultSource = await source({ key: 'derived' });
    const sources = new KeySourceSet(vaultSource);
    // Without a key read first: Vault's "missing context" answer switches the source over.
    const sealed = await seal(sources);
    expect((await openEnvelopeWith(sources, sealed.metadata, here)).dek.equals(sealed.dek)).toBe(true);
    await vault.rotateKey('derived');
    await vaultSource.check();
    const rewrapped = await rewrapEnvelopeWith(sources, sealed.metadata, here);
    expect(rewrapped.metadata[META.kek]).toBe('vault:v2');
    expect(rewrapped.dek.length).toBe(0);
    expect((await openEnvelopeWith(sources, rewrapped.metadata, here)).dek.equals(sealed.dek)).toBe(true);
    await expect(
      openEnvelopeWith(sources, rewrapped.metadata, { ...here, bucket: 'other' }),
    ).rejects.toMatchObject({ code: 'S3SEAL_KEY_UNWRAP_FAILED' });
  });

  it('refuses with a token that lacks the policy, and reports it', async () => {
    await vault.createKey('guarded');
    const weak = await vault.createToken([]);
    const refused = await source({ key: 'guarded', auth: { method: 'token', token: weak } });
    await expect(seal(new KeySourceSet(refused))).rejects.toMatchObject({
      code: 'S3SEAL_KEY_PROVIDER_DENIED',
      message: expect.stringMatching(/permission denied|403/),
    });
    await expect(refused.check()).resolves.toMatchObject({ ok: false, reason: 'VaultAccessDenied' });
    const missing = await source({ key: 'no-such-key' });
    await expect(missing.check()).resolves.toMatchObject({ ok: false, reason: 'TransitKeyNotFound' });
  });

  it('re-reads a token file when Vault refuses the token it holds', async () => {
    await vault.createKey('filed');
    const dir = await mkdtemp(join(tmpdir(), 's3seal-vault-token-'));
    const file = join(dir, 'token');
    await writeFile(file, `${await vault.createToken()}\n`);
    const filed = await source({ key: 'filed', auth: { method: 'token-file', file } });
    const sources = new KeySourceSet(filed);
    await seal(sources);
    // The old token is revoked and a new one written, as Vault Agent or a rotated Secret does.
    const old = (await import('node:fs/promises')).readFile(file, 'utf8');
    await vault.request('POST', 'auth/token/revoke', { token: (await old).trim() });
    await writeFile(file, await vault.createToken());
    await expect(seal(sources)).resolves.toBeDefined();
  });

  it('fails closed while Vault is paused or gone, and reports it unreachable', async () => {
    await vault.createKey('outage');
    const vaultSource = await source({ key: 'outage' });
    const sources = new KeySourceSet(vaultSource);
    const sealed = await seal(sources);
    vault.pause();
    try {
      const started = Date.now();
      await expect(openEnvelopeWith(sources, sealed.metadata, here)).rejects.toMatchObject({
        code: 'S3SEAL_KEY_PROVIDER_UNAVAILABLE',
      });
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(vaultSource.check()).resolves.toMatchObject({ ok: false, reason: 'VaultUnreachable' });
    } finally {
      vault.resume();
    }
    await expect(openEnvelopeWith(sources, sealed.metadata, here)).resolves.toBeDefined();
    await vault.kill();
    await expect(seal(sources)).rejects.toMatchObject({
      code: 'S3SEAL_KEY_PROVIDER_UNAVAILABLE',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    await expect(vaultSource.check()).resolves.toMatchObject({ ok: false, reason: 'VaultUnreachable' });
    await vault.restart();
    token = await vault.createToken();
  });

  it('never lets the data key reach its error messages', async () => {
    await vault.createKey('quiet');
    const sources = new KeySourceSet(await source({ key: 'quiet' }));
    const sealed = await seal(sources);
    const tampered = {
      ...sealed.metadata,
      [META.wrappedDek]: Buffer.from(randomBytes(60)).toString('base64url'),
    };
    const err = (await openEnvelopeWith(sources, tampered, here).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'S3SEAL_KEY_UNWRAP_FAILED' });
    expect(err.message).not.toContain(sealed.dek.toString('base64'));
  });
});

// The sidecar's Kubernetes login: POST auth/<mount>/login with the role and the pod's
// service-account token. The Vault built for tests is the minimal one (no kubernetes plugin), so
// the login is served by Vault's JWT auth method, which takes the same request and here verifies
// the rig kube-apiserver's service-account tokens with its signing key (where the kubernetes
// method would ask the apiserver's TokenReview). The token is a real one, from TokenRequest.
describe('VaultTransitSource with Kubernetes (service-account token) login', () => {
  let vault: VaultServer;
  let kube: KubeApi;
  let jwtFile: string;
  let source: VaultTransitSource | undefined;
  const kubectl = (...args: string[]): string =>
    execFileSync('kubectl', [`--kubeconfig=${kube.kubeconfigPath}`, ...args], { encoding: 'utf8' }).trim();
  const ok = async (call: Promise<{ status: number; body?: unknown }>): Promise<void> => {
    const reply = await call;
    if (reply.status >= 300) throw new Error(`Vault answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  };

  beforeAll(async () => {
    [vault, kube] = await Promise.all([startVault(), startKubeApi()]);
    kubectl('create', 'serviceaccount', 'backup', '-n', 'default');
    const dir = await mkdtemp(join(tmpdir(), 's3seal-vault-jwt-'));
    jwtFile = join(dir, 'token');
    await writeFile(
      jwtFile,
      kubectl('create', 'token', 'backup', '-n', 'default', '--audience=vault', '--duration=1h'),
    );
    await ok(vault.request('POST', 'sys/auth/k8s', { type: 'jwt' }));
    await ok(
      vault.request('POST', 'auth/k8s/config', { jwt_validation_pubkeys: [kube.serviceAccountPublicKeyPem] }),
    );
    await ok(vault.request('POST', 'sys/policies/acl/s3seal', { policy: transitPolicy(vault.mount) }));
    await ok(
      vault.request('POST', 'auth/k8s/role/backup', {
        role_type: 'jwt',
        bound_audiences: ['vault'],
        user_claim: 'sub',
        bound_subject: 'system:serviceaccount:default:backup',
        token_policies: ['s3seal'],
        token_ttl: '1h',
      }),
    );
    await vault.createKey('k8s');
  });

  afterAll(async () => {
    await source?.close();
    await Promise.all([vault?.stop(), kube?.stop()]);
  });

  it('logs in with the service-account token as the role, and is refused as another role', async () => {
    source = await VaultTransitSource.create({
      id: 'vault',
      address: vault.address,
      key: 'k8s',
      auth: { method: 'kubernetes', role: 'backup', mount: 'k8s', jwtFile },
    });
    const sources = new KeySourceSet(source);
    const sealed = await seal(sources);
    expect((await openEnvelopeWith(sources, sealed.metadata, here)).dek.equals(sealed.dek)).toBe(true);
    await expect(source.check()).resolves.toMatchObject({ ok: true, reason: 'TransitKeyUsable' });

    const stranger = await VaultTransitSource.create({
      id: 'vault',
      address: vault.address,
      key: 'k8s',
      auth: { method: 'kubernetes', role: 'no-such-role', mount: 'k8s', jwtFile },
    });
    try {
      await expect(seal(new KeySourceSet(stranger))).rejects.toMatchObject({
        code: 'S3SEAL_KEY_PROVIDER_DENIED',
        message: expect.stringContaining('Kubernetes login as role no-such-role'),
      });
    } finally {
      await stranger.close();
    }
  });
});
