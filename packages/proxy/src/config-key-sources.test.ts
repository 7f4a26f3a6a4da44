import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

const UPSTREAM = {
  S3SEAL_UPSTREAM: 'http://127.0.0.1:9000',
  AWS_ACCESS_KEY_ID: 'AK',
  AWS_SECRET_ACCESS_KEY: 'SK',
};
const VAULT = {
  S3SEAL_VAULT_ADDRESS: 'https://vault.example:8200',
  S3SEAL_VAULT_KEY: 's3seal',
  S3SEAL_VAULT_TOKEN: 'hvs.secret-token',
};

function problems(env: Record<string, string>, purpose?: 'proxy' | 'keys'): readonly string[] {
  try {
    loadConfig([], env, purpose);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('key source configuration', () => {
  it('needs no keyring when a key manager wraps new objects, and keeps a configured keyring for old ones', () => {
    const config = loadConfig([], { ...UPSTREAM, ...VAULT, S3SEAL_KEY_SOURCE: 'vault-transit' });
    expect(config.keySource).toBe('vault-transit');
    expect(config.hasKeyring).toBe(false);
    expect(config.vault).toMatchObject({
      id: 'vault',
      mount: 'transit',
      key: 's3seal',
      auth: { method: 'token' },
    });
    expect(JSON.stringify(config)).not.toContain('hvs.secret-token');
    expect(config.dekCache).toEqual({ ttlSeconds: 300, maxEntries: 1024 });
    const moving = loadConfig([], {
      ...UPSTREAM,
      ...VAULT,
      S3SEAL_KEY_SOURCE: 'vault-transit',
      S3SEAL_KEK_DIR: '/k',
    });
    expect(moving.hasKeyring).toBe(true);
  });

  it('says what each source is missing', () => {
    expect(problems({ ...UPSTREAM, S3SEAL_KEY_SOURCE: 'vault-transit' })).toEqual([
      'keySource vault-transit needs S3SEAL_VAULT_ADDRESS and S3SEAL_VAULT_KEY',
    ]);
    expect(problems({ ...UPSTREAM, S3SEAL_KEY_SOURCE: 'aws-kms' })).toEqual([
      'keySource aws-kms needs S3SEAL_KMS_KEY_ID',
    ]);
    expect(problems({ ...UPSTREAM })).toEqual([
      'a keyring is required: S3SEAL_KEK_DIR, or S3SEAL_KEK_V<n> and S3SEAL_KEK_ACTIVE',
    ]);
    expect(
      problems({ ...UPSTREAM, ...VAULT, S3SEAL_KEY_SOURCE: 'vault-transit', S3SEAL_VAULT_AUTH_ROLE: 'app' }),
    ).toEqual([expect.stringMatching(/exactly one way to authenticate/)]);
    expect(
      problems({
        ...UPSTREAM,
        S3SEAL_KEY_SOURCE: 'vault-transit',
        S3SEAL_VAULT_ADDRESS: 'http://vault.prod:8200',
        S3SEAL_VAULT_TOKEN: 't',
      }),
    ).toEqual([
      expect.stringMatching(/plain http to a non-loopback host/),
      'S3SEAL_VAULT_ADDRESS needs S3SEAL_VAULT_KEY (the Transit key name)',
    ]);
  });

  it('reads Kubernetes auth and the KMS options, and refuses clashing source names', () => {
    const config = loadConfig([], {
      ...UPSTREAM,
      S3SEAL_KEY_SOURCE: 'aws-kms',
      S3SEAL_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:alias/s3seal',
      S3SEAL_KMS_PREVIOUS_KEY_ARNS: 'arn:aws:kms:eu-west-1:123456789012:key/abcd-1234',
      S3SEAL_VAULT_ADDRESS: 'https://vault:8200',
      S3SEAL_VAULT_KEY: 'k',
      S3SEAL_VAULT_AUTH_ROLE: 'backup',
    });
    expect(config.kms).toMatchObject({
      id: 'kms',
      region: 'eu-west-1',
      previousKeyArns: ['arn:aws:kms:eu-west-1:123456789012:key/abcd-1234'],
      credentials: undefined,
    });
    expect(config.vault?.auth).toEqual({
      method: 'kubernetes',
      role: 'backup',
      mount: 'kubernetes',
      serviceAccountTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    expect(problems({ ...UPSTREAM, ...VAULT, S3SEAL_KEK_DIR: '/k', S3SEAL_KEYRING_ID: 'vault' })).toEqual([
      'keyringId and vaultSourceId are both "vault": key source names must differ',
    ]);
    expect(
      problems({
        ...UPSTREAM,
        S3SEAL_KEY_SOURCE: 'aws-kms',
        S3SEAL_KMS_KEY_ID: 'alias/x',
        S3SEAL_KMS_PREVIOUS_KEY_ARNS: 'alias/old',
        S3SEAL_KMS_ACCESS_KEY_ID: 'AK',
      }),
    ).toEqual([
      expect.stringMatching(/"alias\/old" is not a KMS key ARN/),
      'S3SEAL_KMS_ACCESS_KEY_ID and S3SEAL_KMS_SECRET_ACCESS_KEY go together: set both or neither',
    ]);
  });

  it('reads only the key sources for the CLI (no upstream needed)', () => {
    expect(problems({ ...VAULT, S3SEAL_KEY_SOURCE: 'vault-transit' }, 'keys')).toEqual([]);
    expect(problems({ ...VAULT, S3SEAL_KEY_SOURCE: 'vault-transit' })).toContain(
      'upstream is required (S3SEAL_UPSTREAM or --upstream)',
    );
  });
});
