import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * The CAs an https upstream is checked against: Node's bundled (Mozilla) roots plus the PEM
 * bundle in S3SEAL_UPSTREAM_CA_FILE. In addition, not instead: `ca` replaces Node's defaults,
 * and a private CA in front of MinIO should not stop a later move to a public endpoint.
 * Undefined without a file (undici then uses Node's defaults).
 */
export function upstreamCa(caFile: string | undefined): readonly string[] | undefined {
  if (caFile === undefined) return undefined;
  const pem = readFileSync(caFile, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`${caFile} holds no PEM certificate (S3SEAL_UPSTREAM_CA_FILE)`);
  }
  return [...rootCertificates, pem];
}
