import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type KubeApi, startKubeApi } from '@s3seal/testkit';
import { stringify } from 'yaml';

import { policyWithDefaults } from '../src/api/defaults.js';
import { installCrd } from './helpers/cluster.js';
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

  it('shows the printer columns in kubectl get', async () => {
    const out = await kubectlOk(kube.kubeconfigPath, ['get', 'encryptionpolicies']);
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+KEY\s+BUCKETS\s+MULTIPART\s+AGE$/);
    const wide = await kubectlOk(kube.kubeconfigPath, ['get', 'encryptionpolicies', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/REASON\s+UPSTREAM\s+KEY-SECRET\s+ROTATED$/);
    expect(wide).toContain('https://s3.example.com');
  });
});
