import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type KubeApi, startKubeApi } from '@s3seal/testkit';
import { stringify } from 'yaml';

import { policyWithDefaults } from '../src/api/defaults.js';
import { installCrd, repoRoot } from './helpers/cluster.js';
import { kubectl, kubectlOk } from './helpers/kubectl.js';

function policy(name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: 's3seal.io/v1alpha1',
    kind: 'EncryptionPolicy',
    metadata: { name, namespace: 'default' },
    spec,
  });
}

const upstream = { endpoint: 'https://s3.example.com', credentialsSecretRef: { name: 'creds' } };

describe('the EncryptionPolicy CRD on a real kube-apiserver', () => {
  let kube: KubeApi;

  beforeAll(async () => {
    kube = await startKubeApi();
    await installCrd(kube);
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('fills in the defaults', async () => {
    await kubectlOk(kube.kubeconfigPath, ['apply', '-f', '-'], policy('defaults', { upstream }));
    const stored = JSON.parse(
      await kubectlOk(kube.kubeconfigPath, ['get', 'encpol', 'defaults', '-o', 'json']),
    ) as {
      spec: Record<string, unknown>;
    };
    // The same defaults policyWithDefaults applies (its unit test spells them out): the
    // apiserver and the operator's own defaulting agree.
    expect(stored.spec).toEqual(
      policyWithDefaults({ name: 'defaults', namespace: 'default' }, { upstream }).spec,
    );
  });

  it.each([
    ['an unknown algorithm', { upstream, encryption: { algorithm: 'ROT13' } }, 'spec.encryption.algorithm'],
    ['a tiny chunk size', { upstream, encryption: { chunkSize: 16 } }, 'spec.encryption.chunkSize'],
    [
      'an endpoint that is no URL',
      { upstream: { ...upstream, endpoint: 's3.example.com' } },
      'spec.upstream.endpoint',
    ],
    ['a missing upstream', {}, 'spec.upstream'],
    ['a bad bucket name', { upstream, buckets: { names: ['Bad_Bucket'] } }, 'spec.buckets.names[0]'],
    [
      'a bad rotation period',
      { upstream, key: { managed: { rotationPeriod: '90 days' } } },
      'rotationPeriod',
    ],
    ['both key sources', { upstream, key: { managed: {}, existingSecret: { name: 'k' } } }, 'not both'],
    ['multipart without Valkey', { upstream, multipart: { mode: 'encrypt' } }, 'needs multipart.valkey'],
    [
      'a Valkey URL with a password',
      { upstream, multipart: { mode: 'encrypt', valkey: { url: 'redis://u:p@v:6379' } } },
      'url',
    ],
    ['clashing sidecar ports', { upstream, sidecar: { port: 9000, healthPort: 9000 } }, 'must differ'],
  ])('rejects %s', async (_what, spec, mentions) => {
    const result = await kubectl(kube.kubeconfigPath, ['apply', '-f', '-'], policy('invalid', spec));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(mentions);
  });

  const vaultTransit = {
    address: 'https://vault.vault.svc:8200',
    keyName: 'app',
    auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
  };
  const awsKms = { keyId: 'alias/s3seal' };

  it.each([
    ['Vault Transit', { source: 'VaultTransit', vaultTransit }],
    [
      'Vault Transit with Kubernetes auth',
      { source: 'VaultTransit', vaultTransit: { ...vaultTransit, auth: { kubernetes: { role: 'app' } } } },
    ],
    ['AWS KMS', { source: 'AWSKMS', awsKms }],
    [
      'AWS KMS by key ARN with a previous key',
      {
        source: 'AWSKMS',
        awsKms: {
          keyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
          previousKeyArns: ['arn:aws:kms:eu-west-1:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab'],
        },
      },
    ],
    ['KMS active with Vault kept for reading', { source: 'AWSKMS', awsKms, vaultTransit }],
    ['Managed with a Vault read source', { source: 'Managed', vaultTransit }],
    ['ExistingSecret', { source: 'ExistingSecret', existingSecret: { name: 'k' } }],
  ])('accepts a %s key and fills in its defaults', async (_what, key) => {
    const name = `ok-${Math.random().toString(36).slice(2, 8)}`;
    await kubectlOk(kube.kubeconfigPath, ['apply', '-f', '-'], policy(name, { upstream, key }));
    const stored = JSON.parse(
      await kubectlOk(kube.kubeconfigPath, ['get', 'encpol', name, '-o', 'json']),
    ) as {
      spec: Record<string, unknown>;
    };
    expect(stored.spec).toEqual(policyWithDefaults({ name, namespace: 'default' }, { upstream, key }).spec);
  });

  it('defaults inside the key-manager blocks as policyWithDefaults does', () => {
    const spec = policyWithDefaults(
      { name: 'p', namespace: 'default' },
      {
        upstream,
        key: {
          source: 'VaultTransit',
          vaultTransit: { ...vaultTransit, auth: { kubernetes: { role: 'app' } } },
          awsKms: { ...awsKms, credentialsSecretRef: { name: 'kms' } },
          dekCache: {},
        },
      },
    ).spec;
    expect(spec.key).toEqual({
      source: 'VaultTransit',
      vaultTransit: {
        ...vaultTransit,
        mount: 'transit',
        sourceId: 'vault',
        auth: { kubernetes: { role: 'app', mountPath: 'kubernetes' } },
      },
      awsKms: {
        keyId: 'alias/s3seal',
        sourceId: 'kms',
        credentialsSecretRef: {
          name: 'kms',
          accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
          secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
        },
      },
      dekCache: { ttlSeconds: 300, maxEntries: 1024 },
    });
  });

  it.each([
    ['VaultTransit without its block', { source: 'VaultTransit' }, 'needs key.vaultTransit'],
    ['AWSKMS without its block', { source: 'AWSKMS', vaultTransit }, 'needs key.awsKms'],
    ['ExistingSecret without its block', { source: 'ExistingSecret' }, 'needs key.existingSecret'],
    [
      'Managed with an existing Secret',
      { source: 'Managed', existingSecret: { name: 'k' } },
      'Managed mints',
    ],
    ['an unknown source', { source: 'GCPKMS' }, 'spec.key.source'],
    [
      'both Vault auth methods',
      {
        source: 'VaultTransit',
        vaultTransit: { ...vaultTransit, auth: { ...vaultTransit.auth, kubernetes: { role: 'app' } } },
      },
      'exactly one of auth.tokenSecretRef and auth.kubernetes',
    ],
    [
      'no Vault auth method',
      { source: 'VaultTransit', vaultTransit: { ...vaultTransit, auth: {} } },
      'exactly one of auth.tokenSecretRef and auth.kubernetes',
    ],
    [
      'a Vault address that is no URL',
      { source: 'VaultTransit', vaultTransit: { ...vaultTransit, address: 'vault:8200' } },
      'spec.key.vaultTransit.address',
    ],
    [
      'a CA for plain http',
      {
        source: 'VaultTransit',
        vaultTransit: {
          ...vaultTransit,
          address: 'http://vault:8200',
          caSecretRef: { name: 'ca', key: 'ca' },
        },
      },
      'caSecretRef needs an https:// address',
    ],
    ['a KMS key id that is none', { source: 'AWSKMS', awsKms: { keyId: 'my key' } }, 'spec.key.awsKms.keyId'],
    [
      'a previous key that is an alias',
      { source: 'AWSKMS', awsKms: { ...awsKms, previousKeyArns: ['alias/old'] } },
      'previousKeyArns[0]',
    ],
    [
      'two key managers of one source id',
      {
        source: 'AWSKMS',
        awsKms: { ...awsKms, sourceId: 'shared' },
        vaultTransit: { ...vaultTransit, sourceId: 'shared' },
      },
      'sourceId and key.awsKms.sourceId must differ',
    ],
    [
      'a keyring id equal to the Vault source id',
      { keyringId: 'vault', source: 'VaultTransit', vaultTransit },
      'key.keyringId and key.vaultTransit.sourceId must differ',
    ],
    ['a DEK cache beyond an hour', { dekCache: { ttlSeconds: 7200 } }, 'spec.key.dekCache.ttlSeconds'],
  ])('rejects %s', async (_what, key, mentions) => {
    const result = await kubectl(
      kube.kubeconfigPath,
      ['apply', '-f', '-'],
      policy('invalid-key', { upstream, key }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(mentions);
  });

  it.each(['encryption-policy-vault-transit.yaml', 'encryption-policy-aws-kms.yaml'])(
    'accepts the example %s',
    async (file) => {
      await kubectl(kube.kubeconfigPath, ['create', 'namespace', 'demo']);
      await kubectlOk(kube.kubeconfigPath, [
        'apply',
        '--dry-run=server',
        '-f',
        path.join(repoRoot, 'manifests', 'examples', file),
      ]);
    },
  );

  it('shows the printer columns in kubectl get', async () => {
    const out = await kubectlOk(kube.kubeconfigPath, ['get', 'encryptionpolicies']);
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+KEY\s+BUCKETS\s+MULTIPART\s+AGE$/);
    const wide = await kubectlOk(kube.kubeconfigPath, ['get', 'encryptionpolicies', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/REASON\s+UPSTREAM\s+KEY-SECRET\s+ROTATED$/);
    expect(wide.split('\n')[0]).toMatch(/AGE\s+KEY-SOURCE\s+KEY-MANAGER\s+REASON/);
    expect(wide).toContain('https://s3.example.com');
  });
});
