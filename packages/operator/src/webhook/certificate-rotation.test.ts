import { X509Certificate } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import {
  CA_PUBLISH_GRACE_MS,
  type RotationSettings,
  rotateCertificates,
  type StoredCertificates,
  type WebhookCertificates,
} from './certificate-rotation.js';
import {
  type CertificateHosts,
  createCertificateAuthority,
  isIssuedBy,
  issueServingCertificate,
  splitPemBundle,
} from './certificates.js';

const DAY_MS = 86_400_000;
const T0 = new Date('2030-01-01T00:00:00Z').getTime();
const HOSTS: CertificateHosts = {
  dnsNames: ['s3seal-webhook.s3seal-system.svc'],
  ipAddresses: ['127.0.0.1'],
};

function settings(atMs: number, publishedCaPems?: readonly string[], hosts = HOSTS): RotationSettings {
  return {
    hosts,
    now: new Date(atMs),
    caValidityMs: 30 * DAY_MS,
    leafValidityMs: 6 * DAY_MS,
    publishedCaPems,
  };
}

function bundleOf(certificates: WebhookCertificates): string[] {
  return splitPemBundle(certificates.caBundlePem);
}

function signingCa(certificates: WebhookCertificates): string {
  const [first] = bundleOf(certificates);
  if (first === undefined) throw new Error('empty bundle');
  return first;
}

describe('rotateCertificates', () => {
  it('mints a CA and a leaf when nothing is stored, then leaves them alone', async () => {
    const first = await rotateCertificates(undefined, settings(T0, []));

    expect(first.changes).toHaveLength(2);
    expect(bundleOf(first.certificates)).toHaveLength(1);
    expect(isIssuedBy(first.certificates.certPem, signingCa(first.certificates))).toBe(true);
    expect(new X509Certificate(first.certificates.certPem).checkIP('127.0.0.1')).toBe('127.0.0.1');

    const second = await rotateCertificates(first.certificates, settings(T0 + 60_000, []));

    expect(second.changes).toEqual([]);
    expect(second.certificates).toEqual(first.certificates);
  });

  it('renews a leaf near expiry with the same CA', async () => {
    const { certificates } = await rotateCertificates(undefined, settings(T0, []));
    const ca = signingCa(certificates);

    const renewed = await rotateCertificates(certificates, settings(T0 + 4.5 * DAY_MS, [ca]));

    expect(renewed.changes).toEqual(['new serving certificate (serving certificate near expiry)']);
    expect(renewed.certificates.certPem).not.toBe(certificates.certPem);
    expect(renewed.certificates.caBundlePem).toBe(certificates.caBundlePem);
    expect(renewed.certificates.caKeyPem).toBe(certificates.caKeyPem);
    expect(isIssuedBy(renewed.certificates.certPem, ca)).toBe(true);
  });

  it('re-issues the leaf at once when the hosts change', async () => {
    const { certificates } = await rotateCertificates(undefined, settings(T0, []));
    const hosts = { ...HOSTS, dnsNames: ['renamed.s3seal-system.svc'] };

    const renewed = await rotateCertificates(
      certificates,
      settings(T0 + 60_000, [signingCa(certificates)], hosts),
    );

    expect(renewed.certificates.caBundlePem).toBe(certificates.caBundlePem);
    expect(
      new X509Certificate(renewed.certificates.certPem).checkHost('renamed.s3seal-system.svc'),
    ).toBeDefined();
  });

  it('rotates the CA in two phases and keeps the old CA until it expires', async () => {
    const start = await rotateCertificates(undefined, settings(T0, []));
    const ca1 = signingCa(start.certificates);
    // Day 19: the leaf from day 0 has expired (6 days), the CA (30 days) is still fine.
    const day19 = await rotateCertificates(start.certificates, settings(T0 + 19 * DAY_MS, [ca1]));
    expect(signingCa(day19.certificates)).toBe(ca1);
    const leafByCa1 = day19.certificates.certPem;

    // Day 20.5: less than a third of the CA's life left. Phase 1: a new CA joins the bundle, the
    // leaf stays on the old CA because the apiserver does not trust the new one yet.
    const rotateAt = T0 + 20.5 * DAY_MS;
    const phase1 = await rotateCertificates(day19.certificates, settings(rotateAt, [ca1]));
    const ca2 = signingCa(phase1.certificates);
    expect(ca2).not.toBe(ca1);
    expect(bundleOf(phase1.certificates)).toEqual([ca2, ca1]);
    expect(phase1.certificates.certPem).toBe(leafByCa1);
    expect(phase1.deferred).toMatch(/retiring CA/);

    // Published, but too recently for every apiserver to have seen it: still deferred.
    const early = await rotateCertificates(phase1.certificates, settings(rotateAt + 10_000, [ca2, ca1]));
    expect(early.certificates.certPem).toBe(leafByCa1);
    expect(early.changes).toEqual([]);
    // Old enough, but the patch has not landed (the webhook still has only the old CA): deferred.
    const later = rotateAt + CA_PUBLISH_GRACE_MS + 60_000;
    const unpublished = await rotateCertificates(phase1.certificates, settings(later, [ca1]));
    expect(unpublished.certificates.certPem).toBe(leafByCa1);

    // Phase 2: the apiserver trusts the new CA; the leaf moves to it, the old CA stays.
    const phase2 = await rotateCertificates(phase1.certificates, settings(later, [ca2, ca1]));
    expect(isIssuedBy(phase2.certificates.certPem, ca2)).toBe(true);
    expect(bundleOf(phase2.certificates)).toEqual([ca2, ca1]);
    expect(phase2.changes).toEqual(['new serving certificate (serving certificate signed by a retiring CA)']);

    // Day 31: the old CA has expired and leaves the bundle.
    const day31 = await rotateCertificates(phase2.certificates, settings(T0 + 31 * DAY_MS, [ca2, ca1]));
    expect(bundleOf(day31.certificates)).toEqual([ca2]);
    expect(isIssuedBy(day31.certificates.certPem, ca2)).toBe(true);
  });

  it('does not churn when the CA lives shorter than a leaf would', async () => {
    const short = { ...settings(T0, []), caValidityMs: 3 * DAY_MS, leafValidityMs: 90 * DAY_MS };
    const first = await rotateCertificates(undefined, short);

    const second = await rotateCertificates(first.certificates, { ...short, now: new Date(T0 + 60_000) });

    expect(second.changes).toEqual([]);
  });

  it('replaces garbage with fresh certificates', async () => {
    const garbage: StoredCertificates = {
      caBundlePem: 'not a certificate',
      caKeyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      certPem: '',
      keyPem: 'x',
    };

    const result = await rotateCertificates(garbage, settings(T0, []));

    expect(bundleOf(result.certificates)).toHaveLength(1);
    expect(isIssuedBy(result.certificates.certPem, signingCa(result.certificates))).toBe(true);
  });

  it('re-issues a leaf whose key does not match', async () => {
    const { certificates } = await rotateCertificates(undefined, settings(T0, []));
    const stranger = await issueServingCertificate(
      { certPem: signingCa(certificates), keyPem: certificates.caKeyPem },
      HOSTS,
      { now: new Date(T0) },
    );

    const result = await rotateCertificates(
      { ...certificates, keyPem: stranger.keyPem },
      settings(T0 + 60_000, [signingCa(certificates)]),
    );

    expect(result.changes).toEqual(['new serving certificate (serving key does not match the certificate)']);
    expect(result.certificates.keyPem).not.toBe(stranger.keyPem);
  });

  it('keeps a CA whose key was lost in the bundle and moves the leaf at once when no webhook exists', async () => {
    const { certificates } = await rotateCertificates(undefined, settings(T0, []));
    const ca1 = signingCa(certificates);

    const result = await rotateCertificates(
      { ...certificates, caKeyPem: undefined },
      settings(T0 + 60_000, undefined),
    );

    const ca2 = signingCa(result.certificates);
    expect(bundleOf(result.certificates)).toEqual([ca2, ca1]);
    expect(isIssuedBy(result.certificates.certPem, ca2)).toBe(true);
  });

  it('puts the signing CA first when the stored bundle lists it later', async () => {
    const { certificates } = await rotateCertificates(undefined, settings(T0, []));
    const extra = await createCertificateAuthority({ now: new Date(T0) });
    const reordered = { ...certificates, caBundlePem: `${extra.certPem}${certificates.caBundlePem}` };

    const result = await rotateCertificates(reordered, settings(T0 + 60_000, []));

    expect(result.changes).toEqual(['signing CA moved to the front of the bundle']);
    expect(bundleOf(result.certificates)).toEqual([signingCa(certificates), extra.certPem]);
    expect(result.certificates.certPem).toBe(certificates.certPem);
  });
});
