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

/** A throwaway CA for one test run, and the certificates it signs. */
export interface TestCa {
  caPem: string;
  issue(options: IssueOptions): Promise<CertifiedKey>;
}

export interface IssueOptions {
  /** An X.500 name, e.g. `CN=redis-server`. */
  subject: string;
  usage: 'serverAuth' | 'clientAuth';
  /** Subject alternative names; IP addresses and DNS names. */
  ipAddresses?: readonly string[];
  dnsNames?: readonly string[];
}

// ECDSA P-256: accepted by kube-apiserver (serving, client certificates, ES256 tokens) and OpenSSL servers.
const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const HOUR_MS = 3_600_000;

/** Certificates for loopback servers: 127.0.0.1 and localhost. */
export const LOOPBACK_NAMES = { ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] } as const;

export async function createTestCa(commonName = 's3seal-rig-ca'): Promise<TestCa> {
  const crypto = webcrypto;
  // Back-dated an hour so a skewed clock between test steps never sees a not-yet-valid certificate.
  const notBefore = new Date(Date.now() - HOUR_MS);
  const notAfter = new Date(Date.now() + 30 * 24 * HOUR_MS);

  const caKeys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${commonName}`,
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

  const issue = async (options: IssueOptions): Promise<CertifiedKey> => {
    const keys = await generateKeys();
    const names = [
      ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ];
    const cert = await x509.X509CertificateGenerator.create(
      {
        subject: options.subject,
        issuer: ca.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: SIGNING,
        notBefore,
        notAfter,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[options.usage]], false),
          await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
          ...(names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)]),
        ],
      },
      crypto,
    );
    return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
  };

  return { caPem: ca.toString('pem'), issue };
}

export function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function publicKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}
