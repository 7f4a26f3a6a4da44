import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '@s3seal/proxy';

import { policyWithDefaults } from '../api/defaults.js';
import { childName, keySecretName, keyringIdOf, proxyConfigMapName } from './names.js';
import { renderProxyConfig, renderProxyConfigYaml } from './proxy-config.js';

const upstream = { endpoint: 'https://s3.eu-west-1.amazonaws.com', credentialsSecretRef: { name: 'creds' } };

/** Loads a rendered file with the proxy's own config loader, as the sidecar will. */
function loadRendered(yamlText: string, env: Record<string, string> = {}): ReturnType<typeof loadConfig> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 's3seal-render-')), 'proxy.yaml');
  writeFileSync(file, yamlText);
  return loadConfig(['--config', file], { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', ...env });
}

describe('the rendered proxy configuration', () => {
  it('is accepted by the proxy and carries every policy setting', () => {
    const policy = policyWithDefaults(
      { name: 'backups', namespace: 'db' },
      {
        upstream: { ...upstream, region: 'eu-west-1', addressingStyle: 'virtual' },
        buckets: { names: ['pg-*', 'wal'], others: 'passthrough' },
        encryption: { algorithm: 'CHACHA20POLY1305', chunkSize: 1048576, bindObjectKey: false },
        multipart: { mode: 'encrypt', valkey: { url: 'redis://valkey.db:6379/1', ttlSeconds: 3600 } },
        legacyObjects: 'passthrough',
        sidecar: { port: 7480, healthPort: 7481, logLevel: 'warn' },
      },
    );
    const config = loadRendered(renderProxyConfigYaml(policy), { S3SEAL_VALKEY_PASSWORD: 'pw' });
    expect(config).toMatchObject({
      listenHost: '127.0.0.1',
      listenPort: 7480,
      metricsListen: { host: '0.0.0.0', port: 7481 },
      region: 'eu-west-1',
      upstreamPathStyle: false,
      kekDir: '/etc/s3seal/kek',
      keyringId: 'backups',
      algorithm: 'CHACHA20POLY1305',
      chunkSize: 1048576,
      bindObjectKey: false,
      buckets: ['pg-*', 'wal'],
      otherBuckets: 'passthrough',
      legacy: 'passthrough',
      logLevel: 'warn',
      multipart: { ttlSeconds: 3600 },
    });
    expect(config.upstream.href).toBe('https://s3.eu-west-1.amazonaws.com/');
    expect(config.multipart?.valkey.password?.reveal()).toBe('pw');
  });

  it('holds no secret: credentials and passwords come from Secrets as environment variables', () => {
    const policy = policyWithDefaults({ name: 'p', namespace: 'ns' }, { upstream });
    const text = renderProxyConfigYaml(policy);
    expect(text).not.toMatch(/secretAccessKey|accessKeyId|password/i);
    expect(loadRendered(text).multipart).toBeUndefined();
  });

  it('uses the policy name as keyring id unless it cannot be one', () => {
    expect(keyringIdOf(policyWithDefaults({ name: 'p', namespace: 'ns' }, { upstream }))).toBe('p');
    const long = policyWithDefaults({ name: 'a'.repeat(70), namespace: 'ns' }, { upstream });
    expect(keyringIdOf(long)).toBeUndefined();
    expect(() => renderProxyConfig(long)).toThrow(/spec.key.keyringId/);
    const named = policyWithDefaults(
      { name: 'a'.repeat(70), namespace: 'ns' },
      { upstream, key: { keyringId: 'k1' } },
    );
    expect(renderProxyConfig(named).keyringId).toBe('k1');
  });

  it('names the key Secret and ConfigMap after the policy, within object-name limits', () => {
    const policy = policyWithDefaults({ name: 'p', namespace: 'ns' }, { upstream });
    expect(keySecretName(policy)).toBe('p-kek');
    expect(proxyConfigMapName(policy)).toBe('p-s3seal-proxy');
    expect(
      keySecretName(
        policyWithDefaults(
          { name: 'p', namespace: 'ns' },
          { upstream, key: { existingSecret: { name: 'mine' } } },
        ),
      ),
    ).toBe('mine');
    const long = childName('x'.repeat(260), 'kek');
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/-[0-9a-f]{8}-kek$/);
    expect(childName('y'.repeat(260), 'kek')).not.toBe(long);
  });
});

describe('the rendered proxy configuration with an external key manager', () => {
  const vaultTransit = {
    address: 'https://vault.vault.svc:8200',
    keyName: 's3seal-backups',
    namespace: 'team-a',
    caSecretRef: { name: 'vault-ca', key: 'ca.crt' },
    auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
  };
  const awsKms = {
    keyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    previousKeyArns: ['arn:aws:kms:eu-west-1:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab'],
    credentialsSecretRef: { name: 'kms-creds' },
  };

  it('renders Vault Transit with token auth and a CA as files, and no keyring of its own', () => {
    const policy = policyWithDefaults(
      { name: 'backups', namespace: 'db' },
      { upstream, key: { source: 'VaultTransit', vaultTransit, dekCache: { ttlSeconds: 60 } } },
    );
    const rendered = renderProxyConfig(policy);
    expect(rendered).toMatchObject({
      keySource: 'vault-transit',
      vaultAddress: 'https://vault.vault.svc:8200',
      vaultSourceId: 'vault',
      vaultMount: 'transit',
      vaultKey: 's3seal-backups',
      vaultNamespace: 'team-a',
      vaultTokenFile: '/etc/s3seal/vault-token/token',
      vaultCaFile: '/etc/s3seal/vault-ca/ca.crt',
      dekCacheSeconds: 60,
      dekCacheEntries: 1024,
    });
    expect(rendered).not.toHaveProperty('kekDir');
    expect(rendered).not.toHaveProperty('keyringId');
    const config = loadRendered(renderProxyConfigYaml(policy));
    expect(config).toMatchObject({
      keySource: 'vault-transit',
      hasKeyring: false,
      kekDir: undefined,
      vault: {
        id: 'vault',
        mount: 'transit',
        key: 's3seal-backups',
        namespace: 'team-a',
        auth: { method: 'token-file', file: '/etc/s3seal/vault-token/token' },
        caFile: '/etc/s3seal/vault-ca/ca.crt',
      },
      dekCache: { ttlSeconds: 60, maxEntries: 1024 },
    });
  });

  it('keeps the keyring the policy used before as a read source, and renders Kubernetes auth', () => {
    const policy = policyWithDefaults(
      { name: 'backups', namespace: 'db' },
      {
        upstream,
        key: {
          source: 'VaultTransit',
          vaultTransit: {
            ...vaultTransit,
            caSecretRef: undefined,
            auth: { kubernetes: { role: 'backups' } },
          },
        },
      },
    );
    policy.status = { keySecretName: 'backups-kek' };
    const rendered = renderProxyConfig(policy);
    expect(rendered).toMatchObject({
      kekDir: '/etc/s3seal/kek',
      keyringId: 'backups',
      keySource: 'vault-transit',
      vaultAuthRole: 'backups',
      vaultAuthMount: 'kubernetes',
      vaultServiceAccountTokenFile: '/var/run/secrets/s3seal/vault/token',
    });
    expect(rendered).not.toHaveProperty('vaultTokenFile');
    expect(rendered).not.toHaveProperty('vaultCaFile');
    expect(loadRendered(renderProxyConfigYaml(policy))).toMatchObject({
      hasKeyring: true,
      keyringId: 'backups',
      vault: {
        auth: {
          method: 'kubernetes',
          role: 'backups',
          mount: 'kubernetes',
          serviceAccountTokenFile: '/var/run/secrets/s3seal/vault/token',
        },
      },
    });
    // The controller passes the keyring it found; none means none.
    expect(renderProxyConfig(policy, null)).not.toHaveProperty('kekDir');
  });

  it('renders AWS KMS, with Vault kept as a read source, and its credentials only as environment', () => {
    const policy = policyWithDefaults(
      { name: 'backups', namespace: 'db' },
      { upstream, key: { source: 'AWSKMS', awsKms, vaultTransit } },
    );
    const text = renderProxyConfigYaml(policy);
    expect(text).not.toMatch(/secretAccessKey|accessKeyId|password|token:/i);
    const config = loadRendered(text, {
      S3SEAL_KMS_ACCESS_KEY_ID: 'AKIDKMS',
      S3SEAL_KMS_SECRET_ACCESS_KEY: 'kms-secret',
    });
    expect(config).toMatchObject({
      keySource: 'aws-kms',
      hasKeyring: false,
      kms: {
        id: 'kms',
        keyId: awsKms.keyId,
        region: 'eu-west-1',
        previousKeyArns: awsKms.previousKeyArns,
        credentials: { accessKeyId: 'AKIDKMS' },
      },
      vault: { id: 'vault' },
    });
    expect(config.kms?.credentials?.secretAccessKey.reveal()).toBe('kms-secret');
  });

  it('renders keyring-only policies exactly as before (no keySource, no cache settings)', () => {
    const rendered = renderProxyConfig(policyWithDefaults({ name: 'p', namespace: 'ns' }, { upstream }));
    expect(Object.keys(rendered).filter((k) => /^(keySource|vault|kms|dekCache)/.test(k))).toEqual([]);
  });
});
