import { describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';

import { renderKubeconfig } from './kubeconfig.js';

describe('renderKubeconfig', () => {
  it('is read by client-node as a client-certificate config', () => {
    const kc = new KubeConfig();
    kc.loadFromString(
      renderKubeconfig({
        server: 'https://127.0.0.1:6443',
        caPem: 'CA PEM',
        clientCertPem: 'CERT PEM',
        clientKeyPem: 'KEY PEM',
      }),
    );
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://127.0.0.1:6443',
      caData: Buffer.from('CA PEM').toString('base64'),
    });
    expect(kc.getCurrentUser()).toMatchObject({
      certData: Buffer.from('CERT PEM').toString('base64'),
      keyData: Buffer.from('KEY PEM').toString('base64'),
    });
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('default');
  });
});
