import {
  type CertifiedKey,
  createTestCa,
  generateKeys,
  LOOPBACK_NAMES,
  privateKeyPem,
  publicKeyPem,
} from './pki.js';

export type { CertifiedKey } from './pki.js';

/** Everything kube-apiserver and its admin client need, all signed by one throwaway CA. */
export interface KubePki {
  caPem: string;
  /** Serving certificate for 127.0.0.1 and localhost. */
  serving: CertifiedKey;
  /** Client certificate CN=s3seal-rig-admin, O=system:masters (cluster-admin without RBAC objects). */
  admin: CertifiedKey;
  /** Signs and verifies service account tokens. */
  serviceAccount: { privateKeyPem: string; publicKeyPem: string };
}

export async function generateKubePki(): Promise<KubePki> {
  const ca = await createTestCa();
  const serving = await ca.issue({ subject: 'CN=kube-apiserver', usage: 'serverAuth', ...LOOPBACK_NAMES });
  const admin = await ca.issue({ subject: 'CN=s3seal-rig-admin, O=system:masters', usage: 'clientAuth' });

  const saKeys = await generateKeys();
  const serviceAccount = {
    privateKeyPem: await privateKeyPem(saKeys.privateKey),
    publicKeyPem: await publicKeyPem(saKeys.publicKey),
  };

  return { caPem: ca.caPem, serving, admin, serviceAccount };
}
