// @peculiar/x509 resolves its dependencies through tsyringe, which needs a Reflect metadata polyfill
// loaded first (see the package README, "Reflect Polyfill Required").
import 'reflect-metadata';

import { webcrypto } from 'node:crypto';

import * as x509 from '@peculiar/x509';

/** A PEM certificate with its PKCS#8 PEM private key. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

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

// ECDSA P-256: accepted by kube-apiserver for serving, client certificates and ES256 service account tokens.
const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const HOUR_MS = 3_600_000;

export async function generateKubePki(): Promise<KubePki> {
  const crypto = webcrypto;
  // Back-dated an hour so a skewed clock between test steps never sees a not-yet-valid certificate.
  const notBefore = new Date(Date.now() - HOUR_MS);
  const notAfter = new Date(Date.now() + 30 * 24 * HOUR_MS);

  const caKeys = await generateKeys(crypto);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=s3seal-rig-ca',
      keys: caKeys,
      signingAlgorithm: SIGNING,
      notBefore,
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const issue = async (
    subject: string,
    usage: x509.ExtendedKeyUsage,
    extra: x509.Extension[] = [],
  ): Promise<CertifiedKey> => {
    const keys = await generateKeys(crypto);
    const cert = await x509.X509CertificateGenerator.create(
      {
        subject,
        issuer: ca.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: SIGNING,
        notBefore,
        notAfter,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([usage], false),
          await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
          ...extra,
        ],
      },
      crypto,
    );
    return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(crypto, keys.privateKey) };
  };

  const serving = await issue('CN=kube-apiserver', x509.ExtendedKeyUsage.serverAuth, [
    new x509.SubjectAlternativeNameExtension([
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
    ]),
  ]);
  const admin = await issue('CN=s3seal-rig-admin, O=system:masters', x509.ExtendedKeyUsage.clientAuth);

  const saKeys = await generateKeys(crypto);
  const serviceAccount = {
    privateKeyPem: await privateKeyPem(crypto, saKeys.privateKey),
    publicKeyPem: x509.PemConverter.encode(
      await crypto.subtle.exportKey('spki', saKeys.publicKey),
      'PUBLIC KEY',
    ),
  };

  return { caPem: ca.toString('pem'), serving, admin, serviceAccount };
}

function generateKeys(crypto: webcrypto.Crypto): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function privateKeyPem(crypto: webcrypto.Crypto, key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}
