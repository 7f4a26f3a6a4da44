import { describe, expect, it } from '@jest/globals';

import { policyWithDefaults } from './defaults.js';

describe('policyWithDefaults', () => {
  it('fills in what the apiserver fills in (the CRD integration test checks the same object)', () => {
    const upstream = { endpoint: 'https://s3.example.com', credentialsSecretRef: { name: 'creds' } };
    const policy = policyWithDefaults({ name: 'p', namespace: 'ns' }, { upstream });
    expect(policy.spec).toEqual({
      upstream: {
        ...upstream,
        region: 'us-east-1',
        addressingStyle: 'path',
        allowInsecureHttp: false,
        credentialsSecretRef: {
          name: 'creds',
          accessKeyIdKey: 'AWS_ACCESS_KEY_ID',
          secretAccessKeyKey: 'AWS_SECRET_ACCESS_KEY',
        },
      },
      buckets: { names: ['*'], others: 'reject' },
      encryption: { algorithm: 'AES256GCM', chunkSize: 65536, bindObjectKey: true },
      key: {},
      multipart: { mode: 'refuse' },
      legacyObjects: 'reject',
      sidecar: { port: 8080, healthPort: 9090, logLevel: 'info' },
    });
  });

  it('defaults inside objects the user gave, and keeps what the user set', () => {
    const policy = policyWithDefaults(
      { name: 'p', namespace: 'ns' },
      {
        upstream: { endpoint: 'http://minio:9000', credentialsSecretRef: { name: 'c' } },
        key: { managed: {} },
        multipart: { mode: 'encrypt', valkey: { url: 'redis://valkey:6379' } },
        sidecar: { port: 7000 },
      },
    );
    expect(policy.spec.key.managed).toEqual({ rotationPeriod: '2160h' });
    expect(policy.spec.multipart.valkey).toEqual({ url: 'redis://valkey:6379', ttlSeconds: 604800 });
    expect(policy.spec.sidecar).toEqual({ port: 7000, healthPort: 9090, logLevel: 'info' });
  });
});
