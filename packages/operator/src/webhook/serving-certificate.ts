import { X509Certificate } from 'node:crypto';

import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { caBundlePatch, publishedCaPems } from './ca-bundle.js';
import { rotateCertificates, type StoredCertificates } from './certificate-rotation.js';
import {
  type CertificateHosts,
  type CertifiedKey,
  certificateExpiry,
  DEFAULT_CA_VALIDITY_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  isKeyOf,
} from './certificates.js';

export const DEFAULT_TLS_SECRET_NAME = 's3seal-webhook-tls';
export const DEFAULT_WEBHOOK_CONFIGURATION_NAME = 's3seal-injector';
export const DEFAULT_CERTIFICATE_RESYNC_MS = 30_000;

// kubernetes.io/tls keys, plus the CA's key so any future leader can keep signing with the same CA
// (every replica runs as one ServiceAccount, so a separate Secret would hide it from no one).
const KEYS = { cert: 'tls.crt', key: 'tls.key', caBundle: 'ca.crt', caKey: 'ca.key' } as const;
const LABELS = {
  'app.kubernetes.io/name': 's3seal',
  'app.kubernetes.io/component': 'webhook-certificate',
  'app.kubernetes.io/managed-by': 's3seal-operator',
};

export interface ServingCertificateOptions {
  kubeConfig: KubeConfig;
  /** Where the Secret lives: the operator's namespace. */
  namespace: string;
  /** SANs of the serving certificate, e.g. `serviceDnsNames(service, namespace)`. */
  hosts: CertificateHosts;
  /** Asked at every sync: only the leader mints, writes the Secret and patches caBundle. */
  isLeader: () => boolean;
  /** Called with each new serving pair (every replica), e.g. `AdmissionServer.setCertificate`. */
  onCertificate: (pair: CertifiedKey) => void;
  log: Logger;
  secretName?: string;
  webhookConfigurationName?: string;
  /** How often every replica re-reads the Secret; default 30 s. */
  resyncIntervalMs?: number;
  caValidityMs?: number;
  leafValidityMs?: number;
  /** The clock; tests move it. */
  now?: () => Date;
}

/**
 * Keeps the admission webhook's serving certificate in a Secret, as vault-k8s's injector does
 * with leader election: the leader creates or renews the certificates there and patches the CA
 * bundle into every webhook of the MutatingWebhookConfiguration; every replica (leader included)
 * reads the Secret and hands the pair to the server. RBAC: get on the Secret for all replicas;
 * create/update on Secrets and get/patch on the MutatingWebhookConfiguration for the leader.
 */
export class ServingCertificateManager {
  private readonly core: CoreV1Api;
  private readonly admission: AdmissionregistrationV1Api;
  private readonly options: ServingCertificateOptions;
  private readonly secretName: string;
  private readonly webhookConfigurationName: string;
  private readonly log: Logger;
  private current: { pair: CertifiedKey; expiry: Date } | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private isStopped = false;

  constructor(options: ServingCertificateOptions) {
    this.options = options;
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.admission = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    this.secretName = options.secretName ?? DEFAULT_TLS_SECRET_NAME;
    this.webhookConfigurationName = options.webhookConfigurationName ?? DEFAULT_WEBHOOK_CONFIGURATION_NAME;
    this.log = options.log.child({ secret: `${options.namespace}/${this.secretName}` });
  }

  /** The pair handed to `onCertificate` last. */
  get certificate(): CertifiedKey | undefined {
    return this.current?.pair;
  }

  /** Expiry of the certificate being served (for an `s3seal_webhook_certificate_expiry_timestamp_seconds` gauge). */
  get expiry(): Date | undefined {
    return this.current?.expiry;
  }

  /**
   * Runs the first sync and starts the periodic one. Rejects when the first sync fails; the
   * periodic sync keeps trying either way, until `stop()`.
   */
  start(): Promise<void> {
    this.isStopped = false;
    const first = this.sync();
    first.finally(() => this.schedule()).catch(() => undefined);
    return first;
  }

  /** Stops the periodic sync and waits for one in flight. */
  async stop(): Promise<void> {
    this.isStopped = true;
    clearTimeout(this.timer);
    await this.inFlight.catch(() => undefined);
  }

  /**
   * One pass now (call it on becoming leader). Passes never overlap; calls made while one runs
   * share the single pass queued after it.
   */
  sync(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const next = this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.syncOnce();
      });
    this.queued = next;
    this.inFlight = next;
    return next;
  }

  private schedule(): void {
    if (this.isStopped) return;
    this.timer = setTimeout(() => {
      this.sync()
        .catch((err: unknown) => this.log.error({ err }, 'webhook certificate sync failed'))
        .finally(() => this.schedule());
    }, this.options.resyncIntervalMs ?? DEFAULT_CERTIFICATE_RESYNC_MS);
    // The admission server keeps the process alive; this timer alone should not.
    this.timer.unref();
  }

  private async syncOnce(): Promise<void> {
    let secret = await this.readSecret();
    if (this.options.isLeader()) secret = await this.reconcileAsLeader(secret);
    this.serve(secret);
  }

  private async reconcileAsLeader(secret: V1Secret | undefined): Promise<V1Secret | undefined> {
    const configuration = await this.readWebhookConfiguration();
    const result = await rotateCertificates(decodeSecret(secret), {
      hosts: this.options.hosts,
      now: this.options.now?.() ?? new Date(),
      caValidityMs: this.options.caValidityMs ?? DEFAULT_CA_VALIDITY_MS,
      leafValidityMs: this.options.leafValidityMs ?? DEFAULT_LEAF_VALIDITY_MS,
      publishedCaPems: configuration === undefined ? undefined : publishedCaPems(configuration),
    });
    if (result.deferred !== undefined)
      this.log.info({ reason: result.deferred }, 'serving certificate renewal deferred');
    let stored = secret;
    if (result.changes.length > 0) {
      this.log.info({ changes: result.changes }, 'writing webhook certificates');
      stored = await this.writeSecret(secret, encodeData(result.certificates));
    }
    const caBundlePem = decodeSecret(stored)?.caBundlePem;
    if (configuration !== undefined && caBundlePem !== undefined && caBundlePem !== '') {
      await this.publishCaBundle(configuration, caBundlePem);
    }
    return stored;
  }

  /** Creates or replaces the Secret; when another replica wrote first, returns theirs. */
  private async writeSecret(
    existing: V1Secret | undefined,
    data: Record<string, string>,
  ): Promise<V1Secret | undefined> {
    const { namespace } = this.options;
    try {
      if (existing === undefined) {
        return await this.core.createNamespacedSecret({
          namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: this.secretName, namespace, labels: LABELS },
            type: 'kubernetes.io/tls',
            data,
          },
        });
      }
      // resourceVersion from the read makes this a compare-and-swap: a concurrent writer gets 409.
      return await this.core.replaceNamespacedSecret({
        name: this.secretName,
        namespace,
        body: { ...existing, type: 'kubernetes.io/tls', data },
      });
    } catch (err: unknown) {
      if (!isApiError(err, 409)) throw err;
      this.log.info('webhook certificate Secret was written concurrently; using the stored one');
      return this.readSecret();
    }
  }

  /** Sets `clientConfig.caBundle` on every webhook whose bundle differs. */
  private async publishCaBundle(
    configuration: V1MutatingWebhookConfiguration,
    caBundlePem: string,
  ): Promise<void> {
    const patch = caBundlePatch(configuration, caBundlePem);
    if (patch.length === 0) return;
    try {
      await this.admission.patchMutatingWebhookConfiguration(
        { name: this.webhookConfigurationName, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      this.log.info(
        { webhookConfiguration: this.webhookConfigurationName, webhooks: patch.length / 2 },
        'published the CA bundle',
      );
    } catch (err: unknown) {
      // Deleted or reordered since the read (404, or 422 from the failed test): the next sync retries.
      if (!isApiError(err, 404) && !isApiError(err, 422)) throw err;
      this.log.warn({ code: err.code }, 'webhook configuration changed while publishing the CA bundle');
    }
  }

  /** Hands a new, consistent pair from the Secret to the server; keeps the old one otherwise. */
  private serve(secret: V1Secret | undefined): void {
    const stored = decodeSecret(secret);
    if (stored?.certPem === undefined || stored.keyPem === undefined) {
      this.log.warn('webhook certificate Secret is missing or incomplete; waiting for the leader');
      return;
    }
    const pair: CertifiedKey = { certPem: stored.certPem, keyPem: stored.keyPem };
    if (this.current?.pair.certPem === pair.certPem && this.current.pair.keyPem === pair.keyPem) return;
    let expiry: Date;
    try {
      if (!isKeyOf(pair.keyPem, pair.certPem)) throw new Error('tls.key does not match tls.crt');
      expiry = certificateExpiry(pair.certPem);
      this.options.onCertificate(pair);
    } catch (err: unknown) {
      // A broken pair must never replace a working one; the leader repairs the Secret.
      this.log.error({ err }, 'webhook certificate Secret holds an unusable pair; keeping the current one');
      return;
    }
    this.current = { pair, expiry };
    this.log.info(
      { serial: new X509Certificate(pair.certPem).serialNumber, expiry: expiry.toISOString() },
      'serving a new webhook certificate',
    );
  }

  private async readSecret(): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({
        name: this.secretName,
        namespace: this.options.namespace,
      });
    } catch (err: unknown) {
      if (isApiError(err, 404)) return undefined;
      throw err;
    }
  }

  private async readWebhookConfiguration(): Promise<V1MutatingWebhookConfiguration | undefined> {
    try {
      return await this.admission.readMutatingWebhookConfiguration({ name: this.webhookConfigurationName });
    } catch (err: unknown) {
      if (isApiError(err, 404)) return undefined;
      throw err;
    }
  }
}

function decodeSecret(secret: V1Secret | undefined): StoredCertificates | undefined {
  if (secret?.data === undefined) return undefined;
  const data = secret.data;
  const field = (key: string): string | undefined => {
    const value = data[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  return {
    caBundlePem: field(KEYS.caBundle),
    caKeyPem: field(KEYS.caKey),
    certPem: field(KEYS.cert),
    keyPem: field(KEYS.key),
  };
}

function encodeData(certificates: Required<StoredCertificates>): Record<string, string> {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return {
    [KEYS.cert]: b64(certificates.certPem),
    [KEYS.key]: b64(certificates.keyPem),
    [KEYS.caBundle]: b64(certificates.caBundlePem),
    [KEYS.caKey]: b64(certificates.caKeyPem),
  };
}

function isApiError(err: unknown, code: number): err is ApiException<unknown> {
  return err instanceof ApiException && err.code === code;
}
