import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

import {
  type CertificateHosts,
  certificateHosts,
  certificateIssuedAt,
  createCertificateAuthority,
  issueServingCertificate,
  needsRenewal,
  sameHosts,
  splitPemBundle,
} from './certificates.js';

/** The webhook's certificates as stored; read from a Secret, so any field may be missing or garbage. */
export interface StoredCertificates {
  /** Every CA the apiserver should trust (`ca.crt`), the signing CA first. */
  caBundlePem?: string;
  /** The signing CA's private key (`ca.key`). */
  caKeyPem?: string;
  /** The serving leaf (`tls.crt`) and its key (`tls.key`). */
  certPem?: string;
  keyPem?: string;
}

export type WebhookCertificates = Required<StoredCertificates>;

export interface RotationSettings {
  hosts: CertificateHosts;
  now: Date;
  caValidityMs: number;
  leafValidityMs: number;
  /**
   * CA certificates already in the caBundle of every webhook of the configuration; undefined when
   * the configuration does not exist (no apiserver calls the webhook, so nothing can break).
   */
  publishedCaPems: readonly string[] | undefined;
}

export interface RotationResult {
  certificates: WebhookCertificates;
  /** Why the certificates changed; empty when `certificates` equals what was stored. */
  changes: string[];
  /** A leaf renewal that waits until the apiserver trusts the new CA. */
  deferred?: string;
}

// kube-apiserver reads webhook configurations through an informer, so a patched caBundle takes
// effect a moment after the write (longer with several apiservers). A leaf signed by a new CA is
// served only once the CA has been in the caBundle for at least this long.
export const CA_PUBLISH_GRACE_MS = 60_000;

/**
 * Decides the next certificates from the stored ones, minting only what is missing, broken or near
 * expiry. The CA is reused while it has a third of its life left (leaves are capped at its expiry,
 * so a CA lifetime shorter than the leaf's only shortens leaves, never churns CAs); a new
 * CA goes into the bundle first, and the leaf moves to it only after the apiserver trusts it, so
 * no admission call fails during a CA rotation. Old CAs stay in the bundle until they expire
 * (leaves never outlive their CA, so that covers every leaf a replica may still serve).
 */
export async function rotateCertificates(
  stored: StoredCertificates | undefined,
  settings: RotationSettings,
): Promise<RotationResult> {
  const { now } = settings;
  const changes: string[] = [];
  const storedCas = splitPemBundle(stored?.caBundlePem ?? '').map(parseCertificate);
  let trusted = storedCas.filter(
    (ca): ca is X509Certificate => ca !== undefined && ca.ca && isValidAt(ca, now),
  );
  if (trusted.length !== storedCas.length) changes.push('dropped expired or malformed CAs');

  const found = findSigner(trusted, stored?.caKeyPem);
  const caProblem =
    found === undefined
      ? 'no usable signing CA'
      : needsRenewal(found.cert.toString(), now)
        ? 'signing CA near expiry'
        : undefined;
  let signer: Signer;
  const isCaNew = found === undefined || caProblem !== undefined;
  if (isCaNew) {
    const ca = await createCertificateAuthority({ now, validityMs: settings.caValidityMs });
    signer = { cert: new X509Certificate(ca.certPem), keyPem: ca.keyPem };
    trusted = [signer.cert, ...trusted];
    changes.push(`new CA (${caProblem ?? 'no usable signing CA'})`);
  } else {
    signer = found;
    if (trusted[0] !== found.cert) {
      trusted = [found.cert, ...trusted.filter((ca) => ca !== found.cert)];
      changes.push('signing CA moved to the front of the bundle');
    }
  }

  let certPem = stored?.certPem ?? '';
  let keyPem = stored?.keyPem ?? '';
  let deferred: string | undefined;
  const leafProblem = unusableLeafReason(stored, trusted, settings.hosts, now);
  const leafStaleness =
    leafProblem !== undefined
      ? undefined
      : needsRenewal(certPem, now)
        ? 'serving certificate near expiry'
        : !isIssuedByCert(new X509Certificate(certPem), signer.cert)
          ? 'serving certificate signed by a retiring CA'
          : undefined;
  const isSignerTrustedByApiserver =
    settings.publishedCaPems === undefined ||
    (!isCaNew &&
      settings.publishedCaPems.some(
        (pem) => parseCertificate(pem)?.fingerprint256 === signer.cert.fingerprint256,
      ) &&
      now.getTime() - certificateIssuedAt(signer.cert.toString()).getTime() >= CA_PUBLISH_GRACE_MS);
  const reason = leafProblem ?? leafStaleness;
  if (reason !== undefined) {
    if (leafProblem !== undefined || isSignerTrustedByApiserver) {
      const leaf = await issueServingCertificate(
        { certPem: signer.cert.toString(), keyPem: signer.keyPem },
        settings.hosts,
        { now, validityMs: settings.leafValidityMs },
      );
      certPem = leaf.certPem;
      keyPem = leaf.keyPem;
      changes.push(`new serving certificate (${reason})`);
    } else {
      deferred = `${reason}: waiting until the apiserver trusts the new CA`;
    }
  }

  if (changes.length === 0 && stored?.caBundlePem !== undefined) {
    // Unchanged: hand back the stored strings byte for byte, so callers can compare them.
    return {
      certificates: { caBundlePem: stored.caBundlePem, caKeyPem: signer.keyPem, certPem, keyPem },
      changes,
    };
  }
  return {
    certificates: {
      caBundlePem: trusted.map((ca) => ca.toString()).join(''),
      caKeyPem: signer.keyPem,
      certPem,
      keyPem,
    },
    changes,
    ...(deferred === undefined ? {} : { deferred }),
  };
}

/** CA certificates in a PEM bundle; malformed entries are skipped. */
export function parseCaBundle(bundlePem: string): X509Certificate[] {
  return splitPemBundle(bundlePem)
    .map(parseCertificate)
    .filter((ca): ca is X509Certificate => ca !== undefined);
}

interface Signer {
  cert: X509Certificate;
  keyPem: string;
}

function findSigner(trusted: readonly X509Certificate[], caKeyPem: string | undefined): Signer | undefined {
  const key = parsePrivateKey(caKeyPem);
  const cert = key && trusted.find((ca) => ca.checkPrivateKey(key));
  return cert && caKeyPem !== undefined ? { cert, keyPem: caKeyPem } : undefined;
}

function unusableLeafReason(
  stored: StoredCertificates | undefined,
  trusted: readonly X509Certificate[],
  hosts: CertificateHosts,
  now: Date,
): string | undefined {
  const cert = parseCertificate(stored?.certPem);
  if (cert === undefined || stored?.certPem === undefined) return 'no serving certificate';
  const key = parsePrivateKey(stored.keyPem);
  if (key === undefined) return 'no serving key';
  if (!cert.checkPrivateKey(key)) return 'serving key does not match the certificate';
  if (!isValidAt(cert, now)) return 'serving certificate expired or not yet valid';
  if (!sameHosts(certificateHosts(stored.certPem), hosts)) return 'serving certificate hosts differ';
  if (!trusted.some((ca) => isIssuedByCert(cert, ca)))
    return 'serving certificate not signed by a trusted CA';
  return undefined;
}

function isIssuedByCert(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function isValidAt(cert: X509Certificate, now: Date): boolean {
  return cert.validFromDate <= now && now < cert.validToDate;
}

// Stored data comes from a Secret anyone with write access may have edited; whatever fails to
// parse counts as absent and gets re-minted (the reason is logged by the caller).
function parseCertificate(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined || pem === '') return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function parsePrivateKey(pem: string | undefined): KeyObject | undefined {
  if (pem === undefined || pem === '') return undefined;
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}
