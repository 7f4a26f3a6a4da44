// Faults under a running operator (the hardening issue "Operator faults"): kube-apiserver
// restarted under it, the key Secret edited by hand, and a webhook certificate close to expiry.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from 'node:tls';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import type { V1MutatingWebhookConfiguration, V1Pod, V1Secret } from '@kubernetes/client-node';
import { freePort, startKubeApi } from '@s3seal/testkit';
import type { KubeApi } from '@s3seal/testkit';
import { pino } from 'pino';
import { parse } from 'yaml';

import { startOperator } from '../src/operator.js';
import type { RunningOperator } from '../src/operator.js';
import {
  certificateExpiry,
  createCertificateAuthority,
  isIssuedBy,
  issueServingCertificate,
} from '../src/webhook/certificates.js';
import { Cluster, condition, eventually, installCrd, repoRoot, secretText } from './helpers/cluster.js';

const OPERATOR_NS = 's3seal-system';
const TLS_SECRET = 's3seal-webhook-tls';
const WEBHOOK_CONFIGURATION = 's3seal-injector';
const DAY_MS = 24 * 3_600_000;
const HOSTS = { dnsNames: ['s3seal-webhook.s3seal-system.svc'], ipAddresses: ['127.0.0.1'] };
const upstream = { endpoint: 'https://s3.example.com', credentialsSecretRef: { name: 'creds' } };
const creds = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG' };
const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** The shipped webhook, registered by URL at the local operator, trusting `caPem`. */
function webhookConfiguration(port: number, caPem: string): V1MutatingWebhookConfiguration {
  const shipped = parse(
    readFileSync(path.join(repoRoot, 'manifests/webhook.yaml'), 'utf8'),
  ) as V1MutatingWebhookConfiguration;
  return {
    ...shipped,
    webhooks: shipped.webhooks!.map((w) => ({
      ...w,
      clientConfig: {
        url: `https://127.0.0.1:${port}${w.clientConfig.service?.path ?? '/mutate-pods'}`,
        caBundle: b64(caPem),
      },
    })),
  };
}

/** The certificate the webhook server presents right now. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

function keySecrets(items: readonly V1Secret[]): V1Secret[] {
  return items.filter((s) => s.type === 's3seal.io/keyring');
}

describe('the operator under faults: apiserver restart, hand-edited keys, expiring webhook certificate', () => {
  let kube: KubeApi;
  let cluster: Cluster;
  let operator: RunningOperator | undefined;
  let ns: string;
  let webhookPort: number;
  let oldLeaf: { certPem: string; keyPem: string };
  let caPem: string;

  const ready = (name: string) =>
    eventually(
      `${ns}/${name} Ready`,
      async () => {
        const policy = await cluster.policy(ns, name);
        return condition(policy, 'Ready')?.status === 'True' && policy;
      },
      60_000,
    );

  beforeAll(async () => {
    kube = await startKubeApi();
    await installCrd(kube);
    cluster = new Cluster(kube.kubeConfig());
    await cluster.core.createNamespace({ body: { metadata: { name: OPERATOR_NS } } });
    ns = await cluster.createNamespace('faults');
    await cluster.createSecret(ns, 'creds', creds);

    // A webhook certificate Secret as a previous leader left it 60 days ago: a CA good for a year,
    // and a 90-day leaf with 30 days left, i.e. inside the last third where it is renewed.
    const ca = await createCertificateAuthority({ now: new Date(Date.now() - 60 * DAY_MS) });
    caPem = ca.certPem;
    oldLeaf = await issueServingCertificate(ca, HOSTS, {
      now: new Date(Date.now() - 60 * DAY_MS),
      validityMs: 90 * DAY_MS,
    });
    await cluster.core.createNamespacedSecret({
      namespace: OPERATOR_NS,
      body: {
        metadata: { name: TLS_SECRET },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': b64(oldLeaf.certPem),
          'tls.key': b64(oldLeaf.keyPem),
          'ca.crt': b64(ca.certPem),
          'ca.key': b64(ca.keyPem),
        },
      },
    });
    webhookPort = await freePort();
    await kube
      .kubeConfig()
      .makeApiClient(AdmissionregistrationV1Api)
      .createMutatingWebhookConfiguration({ body: webhookConfiguration(webhookPort, ca.certPem) });

    operator = await startOperator({
      kubeConfig: kube.kubeConfig(),
      namespace: OPERATOR_NS,
      sidecar: { image: 'ghcr.io/s3seal/proxy:test' },
      webhookListen: { host: '127.0.0.1', port: webhookPort },
      webhookHosts: HOSTS,
      webhookConfigurationName: WEBHOOK_CONFIGURATION,
      webhookSecretName: TLS_SECRET,
      certificateResyncMs: 500,
      waitingRequeueMs: 500,
      resyncPeriodMs: 60_000,
      log: pino({ level: process.env['S3SEAL_TEST_LOG'] ?? 'silent' }),
    });
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    await kube?.stop();
  });

  it('renews a webhook leaf close to expiry, under the CA the caBundle trusts, and admits pods with it', async () => {
    const renewed = await eventually('a renewed leaf', async () => {
      const secret = await cluster.secret(OPERATOR_NS, TLS_SECRET);
      const certPem = secretText(secret, 'tls.crt');
      return certPem !== undefined && certPem !== oldLeaf.certPem && certPem;
    });
    expect(certificateExpiry(renewed).getTime()).toBeGreaterThan(Date.now() + 80 * DAY_MS);
    expect(isIssuedBy(renewed, caPem)).toBe(true);
    const configuration = await kube
      .kubeConfig()
      .makeApiClient(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
    for (const webhook of configuration.webhooks ?? []) {
      expect(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString('utf8')).toContain(
        caPem.trim(),
      );
    }
    const fingerprint = new X509Certificate(renewed).fingerprint256;
    await eventually(
      'the webhook serving the renewed leaf',
      async () => (await servedCertificate(webhookPort)).fingerprint256 === fingerprint,
    );

    await cluster.applyPolicy(ns, 'admit', { upstream });
    await ready('admit');
    const pod: V1Pod = {
      metadata: {
        name: 'after-renewal',
        annotations: { 's3seal.io/inject': 'true', 's3seal.io/policy': 'admit' },
      },
      spec: { containers: [{ name: 'app', image: 'amazon/aws-cli:2' }] },
    };
    const stored = await cluster.core.createNamespacedPod({ namespace: ns, body: pod });
    expect(stored.spec!.initContainers!.filter((c) => c.name === 's3seal-proxy')).toHaveLength(1);
  });

  it('recovers its informers after kube-apiserver restarts, and reconciles what changed meanwhile', async () => {
    await cluster.applyPolicy(ns, 'before', { upstream });
    await ready('before');
    const beforeKek = await cluster.secret(ns, 'before-kek');

    await kube.restartApiserver({ downMs: 2_000 });
    const upAt = Date.now();
    // Made as soon as the apiserver answers again, while the operator's watches are still broken
    // (its informers restart with a backoff of a second or more).
    await cluster.patchPolicy(ns, 'before', {
      metadata: { annotations: { 's3seal.io/rotate-key': 'after-restart' } },
    });
    await cluster.applyPolicy(ns, 'after', { upstream });

    await ready('after');
    const afterReadyMs = Date.now() - upAt;
    await eventually(
      'before rotated to v2',
      async () => (await cluster.policy(ns, 'before'))?.status?.activeKeyVersion === 'v2',
      60_000,
    );
    const rotatedMs = Date.now() - upAt;
    process.stderr.write(
      `operator-faults: after the apiserver restart, a new policy Ready in ${afterReadyMs} ms, a rotation made during the outage applied in ${rotatedMs} ms\n`,
    );

    const secrets = keySecrets((await cluster.core.listNamespacedSecret({ namespace: ns })).items);
    expect(secrets.map((s) => s.metadata!.name).sort()).toEqual(['admit-kek', 'after-kek', 'before-kek']);
    const created = (await cluster.events(ns)).filter((e) => e.reason === 'KeyCreated');
    expect(created.filter((e) => e.involvedObject.name === 'after')).toHaveLength(1);
    expect(created.filter((e) => e.involvedObject.name === 'before')).toHaveLength(1);
    const before = await cluster.secret(ns, 'before-kek');
    expect(secretText(before, 'v1')).toBe(secretText(beforeKek, 'v1'));
    expect(Object.keys(before!.data!).sort()).toEqual(['active', 'v1', 'v2']);
  });

  it('keeps reading a v1 edited by hand, and a later rotation appends v2 without touching it', async () => {
    await cluster.applyPolicy(ns, 'edited', { upstream });
    await ready('edited');
    const secret = (await cluster.secret(ns, 'edited-kek'))!;
    const mine = Buffer.alloc(32, 7).toString('base64');
    await cluster.core.replaceNamespacedSecret({
      namespace: ns,
      name: 'edited-kek',
      body: { ...secret, data: { ...secret.data, v1: b64(mine) } },
    });
    // Give the Secret event time to reach a reconcile, then nudge the policy too.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await cluster.patchPolicy(ns, 'edited', { metadata: { labels: { nudge: '1' } } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const still = await cluster.secret(ns, 'edited-kek');
    expect(secretText(still, 'v1')).toBe(mine);
    expect(Object.keys(still!.data!).sort()).toEqual(['active', 'v1']);
    const policy = await cluster.policy(ns, 'edited');
    // The operator cannot tell an edited version from the one it minted: the keyring parses, so Ready.
    expect(condition(policy, 'Ready')?.status).toBe('True');
    expect(policy?.status).toMatchObject({ activeKeyVersion: 'v1', keyVersions: 1 });

    await cluster.patchPolicy(ns, 'edited', {
      metadata: { annotations: { 's3seal.io/rotate-key': 'after-edit' } },
    });
    await eventually(
      'v2 active',
      async () => (await cluster.policy(ns, 'edited'))?.status?.activeKeyVersion === 'v2',
    );
    const rotated = await cluster.secret(ns, 'edited-kek');
    expect(secretText(rotated, 'v1')).toBe(mine);
    expect(secretText(rotated, 'active')).toBe('v2');
  });

  it('reports a Secret whose `active` was deleted as KeyringInvalid, writes nothing, and recovers when restored', async () => {
    await cluster.applyPolicy(ns, 'headless', { upstream });
    await ready('headless');
    const secret = (await cluster.secret(ns, 'headless-kek'))!;
    const { active, ...withoutActive } = secret.data!;
    const damaged = await cluster.core.replaceNamespacedSecret({
      namespace: ns,
      name: 'headless-kek',
      body: { ...secret, data: withoutActive },
    });
    const invalid = await eventually('KeyringInvalid', async () => {
      const policy = await cluster.policy(ns, 'headless');
      return condition(policy, 'KeyReady')?.reason === 'KeyringInvalid' && policy;
    });
    expect(condition(invalid, 'KeyReady')?.status).toBe('False');
    expect(condition(invalid, 'Ready')?.status).toBe('False');
    // Nothing overwritten: a rotation request changes nothing either.
    await cluster.patchPolicy(ns, 'headless', {
      metadata: { annotations: { 's3seal.io/rotate-key': 'while-broken' } },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const untouched = await cluster.secret(ns, 'headless-kek');
    expect(untouched?.metadata?.resourceVersion).toBe(damaged.metadata?.resourceVersion);
    expect(untouched?.data).toEqual(withoutActive);

    await cluster.core.replaceNamespacedSecret({
      namespace: ns,
      name: 'headless-kek',
      body: { ...untouched, data: { ...untouched!.data, active: active! } },
    });
    // Restored, the pending rotation request is then honoured: v2 appended, v1 kept.
    await eventually(
      'headless Ready again',
      async () => {
        const policy = await cluster.policy(ns, 'headless');
        return condition(policy, 'Ready')?.status === 'True' && policy?.status?.activeKeyVersion === 'v2';
      },
      30_000,
    );
    const restored = await cluster.secret(ns, 'headless-kek');
    expect(secretText(restored, 'v1')).toBe(secretText(secret, 'v1'));
  });
});
