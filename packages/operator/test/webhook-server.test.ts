import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';

import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, type KubeApi, startKubeApi } from '@s3seal/testkit';
import { pino } from 'pino';

import {
  type AdmissionHandler,
  type AdmissionRequest,
  AdmissionServer,
  type CertifiedKey,
  type CertificateHosts,
  certificateExpiry,
  jsonPatchEscape,
  serviceDnsNames,
  ServingCertificateManager,
  type ServingCertificateOptions,
} from '../src/webhook/index.js';

const OPERATOR_NAMESPACE = 's3seal-system';
const APP_NAMESPACE = 'apps';
const OTHER_NAMESPACE = 'elsewhere';
const WEBHOOK_CONFIGURATION = 's3seal-injector';
const SECRET = 's3seal-webhook-tls';
const INJECT = 's3seal.io/inject';
const STATUS = 's3seal.io/status';
const HOSTS: CertificateHosts = {
  dnsNames: serviceDnsNames('s3seal-webhook', OPERATOR_NAMESPACE),
  ipAddresses: ['127.0.0.1'],
};
const log = pino({ level: 'silent' });

// Pods reaching the webhook always carry annotations (the matchConditions demand one), so `add`
// on a key under /metadata/annotations is valid.
const injecting: AdmissionHandler = () =>
  Promise.resolve({
    allowed: true,
    patch: [{ op: 'add', path: `/metadata/annotations/${jsonPatchEscape(STATUS)}`, value: 'injected' }],
  });

function pod(name: string, annotations?: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(annotations === undefined ? {} : { annotations }) },
    spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
  };
}

function webhookConfiguration(port: number): V1MutatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: WEBHOOK_CONFIGURATION },
    webhooks: [
      {
        name: 'inject.s3seal.io',
        // No caBundle: the certificate manager must publish it.
        clientConfig: { url: `https://127.0.0.1:${port}/mutate-pods` },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        namespaceSelector: { matchLabels: { 's3seal.io/injection': 'enabled' } },
        // CEL, evaluated by the apiserver: pods without the annotation never reach the webhook.
        matchConditions: [
          {
            name: 'inject-annotation',
            expression: `has(object.metadata.annotations) && '${INJECT}' in object.metadata.annotations && object.metadata.annotations['${INJECT}'] == 'true'`,
          },
        ],
      },
    ],
  };
}

function bodyText(err: unknown): string {
  if (!(err instanceof ApiException)) throw err;
  const body: unknown = err.body;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** The certificate a TLS client gets from 127.0.0.1:port, verified against `caPem`. */
function servedCertificate(port: number, caPem: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert);
    });
    socket.on('error', reject);
  });
}

describe('the admission webhook on a real kube-apiserver', () => {
  let kube: KubeApi;
  let kubeConfig: KubeConfig;
  let core: CoreV1Api;
  let admission: AdmissionregistrationV1Api;
  let server: AdmissionServer;
  let port: number;
  let manager: ServingCertificateManager;
  let handler: AdmissionHandler = injecting;
  const received: AdmissionRequest[] = [];
  const managers: ServingCertificateManager[] = [];

  function startManager(overrides: Partial<ServingCertificateOptions> = {}): ServingCertificateManager {
    const started = new ServingCertificateManager({
      kubeConfig,
      namespace: OPERATOR_NAMESPACE,
      hosts: HOSTS,
      isLeader: () => true,
      onCertificate: (pair) => server.setCertificate(pair),
      log,
      ...overrides,
    });
    managers.push(started);
    return started;
  }

  async function readSecretData(name = SECRET): Promise<Record<string, string>> {
    const secret = await core.readNamespacedSecret({ name, namespace: OPERATOR_NAMESPACE });
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, 'base64').toString('utf8'),
      ]),
    );
  }

  async function createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return core.createNamespacedPod({ namespace, body });
  }

  beforeAll(async () => {
    kube = await startKubeApi();
    kubeConfig = kube.kubeConfig();
    core = kubeConfig.makeApiClient(CoreV1Api);
    admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    for (const [name, labels] of [
      [OPERATOR_NAMESPACE, {}],
      [APP_NAMESPACE, { 's3seal.io/injection': 'enabled' }],
      [OTHER_NAMESPACE, {}],
    ] as const) {
      await core.createNamespace({ body: { metadata: { name, labels } } });
    }

    // Listening before any certificate exists: handshakes fail until the manager hands one over.
    server = new AdmissionServer({
      handler: (request) => {
        received.push(request);
        return handler(request);
      },
      log,
    });
    port = await freePort();
    await server.listen(port, '127.0.0.1');
    await admission.createMutatingWebhookConfiguration({ body: webhookConfiguration(port) });

    manager = startManager();
    await manager.start();

    // The apiserver picks up the configuration and its caBundle through an informer, so the first
    // pods may be admitted without the webhook (or fail while the CA is not yet trusted).
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await createPod(APP_NAMESPACE, pod(`probe-${attempt}`, { [INJECT]: 'true' }));
        if (created.metadata?.annotations?.[STATUS] === 'injected') break;
      } catch (err: unknown) {
        if (!(err instanceof ApiException) || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error('the webhook never became active');
      await sleep(500);
    }
  });

  afterAll(async () => {
    await Promise.all(managers.map((m) => m.stop()));
    await kube?.stop();
    await server?.close();
  });

  it('keeps the certificates in a kubernetes.io/tls Secret and publishes the CA bundle', async () => {
    const secret = await core.readNamespacedSecret({ name: SECRET, namespace: OPERATOR_NAMESPACE });
    const data = await readSecretData();
    const configuration = await admission.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });

    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const leaf = new X509Certificate(data['tls.crt'] ?? '');
    expect(leaf.verify(new X509Certificate(data['ca.crt'] ?? '').publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost(`s3seal-webhook.${OPERATOR_NAMESPACE}.svc`)).toBeDefined();
    expect(configuration.webhooks?.[0]?.clientConfig.caBundle).toBe(secret.data?.['ca.crt']);
    expect(manager.expiry).toEqual(certificateExpiry(data['tls.crt'] ?? ''));
    expect(manager.certificate).toEqual({ certPem: data['tls.crt'], keyPem: data['tls.key'] });
  });

  it('patches an annotated pod', async () => {
    const created = await createPod(APP_NAMESPACE, pod('annotated', { [INJECT]: 'true' }));

    expect(created.metadata?.annotations).toEqual({ [INJECT]: 'true', [STATUS]: 'injected' });
    const request = received.find((r) => r.name === 'annotated');
    expect(request).toMatchObject({
      namespace: APP_NAMESPACE,
      operation: 'CREATE',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
    });
  });

  it('is never called for pods the matchConditions or namespaceSelector exclude', async () => {
    const before = received.length;

    const plain = await createPod(APP_NAMESPACE, pod('plain'));
    const optedOut = await createPod(APP_NAMESPACE, pod('opted-out', { [INJECT]: 'false' }));
    const elsewhere = await createPod(OTHER_NAMESPACE, pod('elsewhere', { [INJECT]: 'true' }));

    expect(received.length).toBe(before);
    expect(plain.metadata?.annotations).toBeUndefined();
    expect(optedOut.metadata?.annotations).toEqual({ [INJECT]: 'false' });
    expect(elsewhere.metadata?.annotations).toEqual({ [INJECT]: 'true' });
  });

  it('makes pod creation fail with the handler message when it denies', async () => {
    handler = () =>
      Promise.resolve({
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'no EncryptionPolicy named "missing"' },
      });
    try {
      const failure = await createPod(APP_NAMESPACE, pod('denied', { [INJECT]: 'true' })).then(
        () => undefined,
        (err: unknown) => err,
      );

      expect(failure).toBeInstanceOf(ApiException);
      expect((failure as ApiException<unknown>).code).toBe(403);
      expect(bodyText(failure)).toContain('no EncryptionPolicy named \\"missing\\"');
      expect(bodyText(failure)).toContain('inject.s3seal.io');
    } finally {
      handler = injecting;
    }
  });

  it('fails closed when the handler throws', async () => {
    handler = () => Promise.reject(new Error('boom'));
    try {
      const failure = await createPod(APP_NAMESPACE, pod('crashed', { [INJECT]: 'true' })).then(
        () => undefined,
        (err: unknown) => err,
      );

      expect(failure).toBeInstanceOf(ApiException);
      expect((failure as ApiException<unknown>).code).toBe(500);
      expect(bodyText(failure)).toContain('s3seal webhook: internal error');
      await expect(
        core.readNamespacedPod({ name: 'crashed', namespace: APP_NAMESPACE }),
      ).rejects.toMatchObject({
        code: 404,
      });
    } finally {
      handler = injecting;
    }
  });

  it('gives a follower replica the certificate the leader stored', async () => {
    const served: CertifiedKey[] = [];
    const follower = startManager({ isLeader: () => false, onCertificate: (pair) => served.push(pair) });

    await follower.start();

    expect(served).toEqual([manager.certificate]);
  });

  it('lets two leaders race to create the Secret and serve the same certificate', async () => {
    const options = {
      secretName: 'raced-webhook-tls',
      webhookConfigurationName: 'absent',
      onCertificate: () => undefined,
    };
    const a = startManager(options);
    const b = startManager(options);

    await Promise.all([a.start(), b.start()]);

    const data = await readSecretData('raced-webhook-tls');
    expect(a.certificate).toEqual({ certPem: data['tls.crt'], keyPem: data['tls.key'] });
    expect(b.certificate).toEqual(a.certificate);
  });

  it('renews the leaf for new hosts with the same CA, without a restart or a failed admission', async () => {
    const before = await readSecretData();
    await manager.stop();
    const hosts = { ...HOSTS, dnsNames: [...HOSTS.dnsNames, 's3seal-webhook-extra.example'] };
    manager = startManager({ hosts });

    await manager.start();

    const after = await readSecretData();
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['tls.crt']).not.toBe(before['tls.crt']);
    const served = await servedCertificate(port, after['ca.crt'] ?? '');
    expect(served.checkHost('s3seal-webhook-extra.example')).toBeDefined();
    const created = await createPod(APP_NAMESPACE, pod('after-renewal', { [INJECT]: 'true' }));
    expect(created.metadata?.annotations?.[STATUS]).toBe('injected');
  });
});
