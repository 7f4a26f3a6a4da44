import { X509Certificate } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import {
  BACKDATE_MS,
  type CertificateHosts,
  certificateExpiry,
  certificateHosts,
  certificateIssuedAt,
  createCertificateAuthority,
  isIssuedBy,
  isKeyOf,
  issueServingCertificate,
  needsRenewal,
  sameHosts,
  serviceDnsNames,
  splitPemBundle,
} from './certificates.js';

const DAY_MS = 86_400_000;
const NOW = new Date('2030-01-01T00:00:00Z');
const HOSTS: CertificateHosts = {
  dnsNames: serviceDnsNames('s3seal-webhook', 's3seal-system'),
  ipAddresses: ['127.0.0.1'],
};
const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

describe('createCertificateAuthority', () => {
  it('mints a self-signed CA, back-dated, valid for a year by default', async () => {
    const ca = await createCertificateAuthority({ now: NOW });
    const cert = new X509Certificate(ca.certPem);

    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.validFromDate.getTime()).toBe(NOW.getTime() - BACKDATE_MS);
    expect(cert.validToDate.getTime()).toBe(NOW.getTime() + 365 * DAY_MS);
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(isKeyOf(ca.keyPem, ca.certPem)).toBe(true);
    expect(certificateIssuedAt(ca.certPem)).toEqual(NOW);
  });

  it('gives each CA a distinct subject and serial', async () => {
    const a = new X509Certificate((await createCertificateAuthority({ now: NOW })).certPem);
    const b = new X509Certificate(
      (await createCertificateAuthority({ now: new Date(NOW.getTime() + 1000) })).certPem,
    );

    expect(a.subject).not.toBe(b.subject);
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });
});

describe('issueServingCertificate', () => {
  it('carries the service DNS names and IP addresses and chains to the CA', async () => {
    const ca = await createCertificateAuthority({ now: NOW });
    const leaf = await issueServingCertificate(ca, HOSTS, { now: NOW });
    const cert = new X509Certificate(leaf.certPem);
    const caCert = new X509Certificate(ca.certPem);

    expect(cert.checkHost('s3seal-webhook.s3seal-system.svc')).toBe('s3seal-webhook.s3seal-system.svc');
    expect(cert.checkHost('s3seal-webhook.s3seal-system.svc.cluster.local')).toBeDefined();
    expect(cert.checkHost('other.s3seal-system.svc')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('10.0.0.1')).toBeUndefined();
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(isIssuedBy(leaf.certPem, ca.certPem)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([SERVER_AUTH_OID]);
    expect(isKeyOf(leaf.keyPem, leaf.certPem)).toBe(true);
    expect(isKeyOf(ca.keyPem, leaf.certPem)).toBe(false);
    expect(certificateHosts(leaf.certPem)).toEqual(HOSTS);
  });

  it('is valid for 90 days by default, back-dated for clock skew', async () => {
    const ca = await createCertificateAuthority({ now: NOW });
    const leaf = await issueServingCertificate(ca, HOSTS, { now: NOW });

    expect(certificateExpiry(leaf.certPem).getTime()).toBe(NOW.getTime() + 90 * DAY_MS);
    expect(new X509Certificate(leaf.certPem).validFromDate.getTime()).toBe(NOW.getTime() - BACKDATE_MS);
  });

  it('never outlives its CA', async () => {
    const ca = await createCertificateAuthority({ now: NOW, validityMs: 10 * DAY_MS });
    const leaf = await issueServingCertificate(ca, HOSTS, { now: NOW, validityMs: 90 * DAY_MS });

    expect(certificateExpiry(leaf.certPem)).toEqual(certificateExpiry(ca.certPem));
  });

  it('is not issued by a different CA', async () => {
    const ca = await createCertificateAuthority({ now: NOW });
    const other = await createCertificateAuthority({ now: NOW });
    const leaf = await issueServingCertificate(ca, HOSTS, { now: NOW });

    expect(isIssuedBy(leaf.certPem, other.certPem)).toBe(false);
  });

  it('refuses a certificate without names', async () => {
    const ca = await createCertificateAuthority({ now: NOW });

    await expect(issueServingCertificate(ca, { dnsNames: [], ipAddresses: [] })).rejects.toThrow(RangeError);
  });
});

describe('needsRenewal', () => {
  it('turns true once less than a third of the lifetime remains', async () => {
    const ca = await createCertificateAuthority({ now: NOW });
    const leaf = await issueServingCertificate(ca, HOSTS, { now: NOW });
    // Lifetime is 90 days plus the back-dated hour; renewal starts 30 days and 20 minutes before expiry.
    const renewAt = NOW.getTime() + 90 * DAY_MS - (90 * DAY_MS + BACKDATE_MS) / 3;

    expect(needsRenewal(leaf.certPem, NOW)).toBe(false);
    expect(needsRenewal(leaf.certPem, new Date(renewAt - 60_000))).toBe(false);
    expect(needsRenewal(leaf.certPem, new Date(renewAt))).toBe(true);
    expect(needsRenewal(leaf.certPem, new Date(NOW.getTime() + 100 * DAY_MS))).toBe(true);
  });

  it('turns true when the hosts differ, regardless of order and case', async () => {
    const ca = await createCertificateAuthority({ now: NOW });
    const leaf = await issueServingCertificate(ca, HOSTS, { now: NOW });

    expect(needsRenewal(leaf.certPem, NOW, HOSTS)).toBe(false);
    expect(
      needsRenewal(leaf.certPem, NOW, {
        dnsNames: [...HOSTS.dnsNames].reverse().map((n) => n.toUpperCase()),
        ipAddresses: ['127.0.0.1'],
      }),
    ).toBe(false);
    expect(needsRenewal(leaf.certPem, NOW, { ...HOSTS, ipAddresses: [] })).toBe(true);
    expect(
      needsRenewal(leaf.certPem, NOW, { ...HOSTS, dnsNames: serviceDnsNames('renamed', 's3seal-system') }),
    ).toBe(true);
  });
});

describe('sameHosts', () => {
  it('compares IPv6 addresses in canonical form', () => {
    expect(
      sameHosts({ dnsNames: [], ipAddresses: ['0:0:0:0:0:0:0:1'] }, { dnsNames: [], ipAddresses: ['::1'] }),
    ).toBe(true);
    expect(sameHosts({ dnsNames: [], ipAddresses: ['::1'] }, { dnsNames: [], ipAddresses: ['::2'] })).toBe(
      false,
    );
  });
});

describe('splitPemBundle', () => {
  it('splits a bundle into its certificates and ignores text between them', async () => {
    const a = await createCertificateAuthority({ now: NOW });
    const b = await createCertificateAuthority({ now: NOW });

    const parts = splitPemBundle(`# first\n${a.certPem}\n\n# second\n${b.certPem.trimEnd()}`);

    expect(parts).toEqual([a.certPem, b.certPem]);
    expect(splitPemBundle('')).toEqual([]);
  });
});
