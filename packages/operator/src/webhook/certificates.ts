// @peculiar/x509 resolves its dependencies through tsyringe, which needs a Reflect metadata polyfill
// loaded first (see the package README, "Reflect Polyfill Required").
import 'reflect-metadata';

import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIPv6 } from 'node:net';

import * as x509 from '@peculiar/x509';

/** A PEM certificate with its PKCS#8 PEM private key. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

/** The names a serving certificate must carry as subject alternative names. */
export interface CertificateHosts {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

export interface MintOptions {
  /** Start of the validity period (before back-dating); default now. */
  now?: Date;
  validityMs?: number;
}

const DAY_MS = 86_400_000;
export const DEFAULT_CA_VALIDITY_MS = 365 * DAY_MS;
export const DEFAULT_LEAF_VALIDITY_MS = 90 * DAY_MS;
// client-go's GenerateSelfSignedCertKey back-dates by an hour as well, so an apiserver whose clock
// runs behind the operator's never sees a not-yet-valid certificate.
export const BACKDATE_MS = 3_600_000;

// ECDSA P-256: kube-apiserver (Go crypto/tls) verifies it, and key generation takes milliseconds.
const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** DNS names the apiserver uses to reach a webhook Service (`clientConfig.service`). */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/**
 * A self-signed CA that may sign leaf certificates only (path length 0). The common name carries
 * the minting time, as client-go's self-signed CAs do (`<host>-ca@<unix seconds>`), so the old and
 * the new CA in a rotation bundle have distinct subjects.
 */
export async function createCertificateAuthority(options: MintOptions = {}): Promise<CertifiedKey> {
  const now = options.now ?? new Date();
  const { notBefore, notAfter } = validity(now, options.validityMs ?? DEFAULT_CA_VALIDITY_MS);
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: `CN=s3seal-webhook-ca@${Math.floor(now.getTime() / 1000)}`,
      keys,
      signingAlgorithm: SIGNING,
      notBefore,
      notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * A serverAuth leaf for `hosts`, signed by `ca`. It never outlives its CA: Go's verifier checks
 * the validity of every certificate in the chain, so a leaf past its CA's expiry is useless.
 */
export async function issueServingCertificate(
  ca: CertifiedKey,
  hosts: CertificateHosts,
  options: MintOptions = {},
): Promise<CertifiedKey> {
  if (hosts.dnsNames.length === 0 && hosts.ipAddresses.length === 0) {
    throw new RangeError('a serving certificate needs at least one DNS name or IP address');
  }
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(ca.keyPem),
    EC_KEY,
    false,
    ['sign'],
  );
  const { notBefore, notAfter } = validity(
    options.now ?? new Date(),
    options.validityMs ?? DEFAULT_LEAF_VALIDITY_MS,
  );
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      // Go ignores the common name for host checks (SANs only); it is there for humans and logs.
      subject: `CN=${hosts.dnsNames[0] ?? 's3seal-webhook'}`,
      issuer: caCert.subject,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING,
      notBefore,
      notAfter: new Date(Math.min(notAfter.getTime(), caCert.notAfter.getTime())),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // digitalSignature only: ECDSA keys sign the handshake, they never encipher keys.
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, webcrypto),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        new x509.SubjectAlternativeNameExtension([
          ...hosts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...hosts.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ]),
      ],
    },
    webcrypto,
  );
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * True when less than a third of the certificate's lifetime remains (cert-manager's default
 * renewBefore), or, given `hosts`, when its subject alternative names differ from them.
 */
export function needsRenewal(certPem: string, now: Date, hosts?: CertificateHosts): boolean {
  const cert = new X509Certificate(certPem);
  const notBefore = cert.validFromDate.getTime();
  const notAfter = cert.validToDate.getTime();
  const renewAt = notAfter - (notAfter - notBefore) / 3;
  if (now.getTime() >= renewAt) return true;
  return hosts !== undefined && !sameHosts(certificateHosts(certPem), hosts);
}

/** When the certificate was minted: its notBefore plus the back-dating this module applies. */
export function certificateIssuedAt(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validFromDate.getTime() + BACKDATE_MS);
}

export function certificateExpiry(certPem: string): Date {
  return new X509Certificate(certPem).validToDate;
}

/** The DNS and IP subject alternative names of a certificate (IPv6 in canonical form). */
export function certificateHosts(certPem: string): CertificateHosts {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  return {
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

/** Set equality, DNS names case-insensitively (RFC 4343) and IP addresses in canonical form. */
export function sameHosts(a: CertificateHosts, b: CertificateHosts): boolean {
  const key = (hosts: CertificateHosts): string =>
    JSON.stringify([
      [...new Set(hosts.dnsNames.map((n) => n.toLowerCase()))].sort(),
      [...new Set(hosts.ipAddresses.map(canonicalIp))].sort(),
    ]);
  return key(a) === key(b);
}

/** Splits a PEM bundle into its certificates (each re-terminated with a newline). */
export function splitPemBundle(bundlePem: string): string[] {
  return [...bundlePem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}

/** True when `cert` was signed by `ca` (issuer name and signature both match). */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** True when `keyPem` is the private key of `certPem`. */
export function isKeyOf(keyPem: string, certPem: string): boolean {
  return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
}

function canonicalIp(ip: string): string {
  // The URL parser prints IPv6 hosts in RFC 5952 form, so `::1` and `0:0:0:0:0:0:0:1` compare equal.
  return isIPv6(ip) ? new URL(`https://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function validity(now: Date, validityMs: number): { notBefore: Date; notAfter: Date } {
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityMs),
  };
}

function serialNumber(): string {
  // RFC 5280 4.1.2.2: positive, at most 20 octets. 16 random octets with the top bit cleared.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')}\n`;
}
