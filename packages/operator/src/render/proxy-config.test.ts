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
