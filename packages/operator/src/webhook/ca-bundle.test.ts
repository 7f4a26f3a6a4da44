import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from '@jest/globals';

import { caBundlePatch, publishedCaPems } from './ca-bundle.js';
import { createCertificateAuthority } from './certificates.js';

function configuration(...bundles: (string | undefined)[]): V1MutatingWebhookConfiguration {
  return {
    metadata: { name: 's3seal-injector' },
    webhooks: bundles.map((pem, i) => ({
      name: `w${i}.s3seal.io`,
      clientConfig: {
        url: 'https://127.0.0.1:9443/mutate-pods',
        ...(pem === undefined ? {} : { caBundle: Buffer.from(pem).toString('base64') }),
      },
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    })),
  };
}

describe('publishedCaPems', () => {
  it('lists the CAs every webhook trusts', async () => {
    const a = (await createCertificateAuthority()).certPem;
    const b = (await createCertificateAuthority()).certPem;

    expect(publishedCaPems(configuration(a + b, b))).toEqual([b]);
    expect(publishedCaPems(configuration(a + b, b + a))).toEqual([a, b]);
    expect(publishedCaPems(configuration(a, undefined))).toEqual([]);
  });

  it('is undefined without webhooks: nothing calls, nothing can fail', () => {
    expect(publishedCaPems(configuration())).toBeUndefined();
  });
});

describe('caBundlePatch', () => {
  it('sets the bundle on each webhook that lacks it, guarded by its name', async () => {
    const a = (await createCertificateAuthority()).certPem;
    const b64 = Buffer.from(a).toString('base64');

    expect(caBundlePatch(configuration(a, undefined, 'other'), a)).toEqual([
      { op: 'test', path: '/webhooks/1/name', value: 'w1.s3seal.io' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: b64 },
      { op: 'test', path: '/webhooks/2/name', value: 'w2.s3seal.io' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: b64 },
    ]);
    expect(caBundlePatch(configuration(a, a), a)).toEqual([]);
  });
});
