import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What a reconcile ended in; a bounded label (no namespace or name: cardinality stays fixed). */
export type ReconcileResultLabel = 'success' | 'error';
/** An external key manager a policy names. */
export type KeyManagerLabel = 'vault-transit' | 'aws-kms';
const KEY_MANAGERS: readonly KeyManagerLabel[] = ['vault-transit', 'aws-kms'];
/** What the webhook did with a pod. */
export type AdmissionResultLabel = 'injected' | 'repointed' | 'skipped' | 'denied' | 'error';

/**
 * The operator's Prometheus metrics, on its own registry (so tests can run several operators
 * in one process), served at /metrics on the health listener.
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileDuration: Histogram;
  readonly admissions: Counter<'result' | 'reason'>;
  readonly keyRotations: Counter;
  readonly isLeader: Gauge;
  readonly policyReady: Gauge<'namespace' | 'policy'>;
  readonly policyNextRotation: Gauge<'namespace' | 'policy'>;
  readonly policyActiveKeyVersion: Gauge<'namespace' | 'policy'>;
  readonly policyKeyManagerUp: Gauge<'namespace' | 'policy' | 'key_manager'>;
  private certificateExpiry: () => Date | undefined = () => undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 's3seal_operator_' });
    this.reconciles = new Counter({
      name: 's3seal_operator_reconcile_total',
      help: 'EncryptionPolicy reconciles by result',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.reconcileDuration = new Histogram({
      name: 's3seal_operator_reconcile_duration_seconds',
      help: 'Time one EncryptionPolicy reconcile took',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.admissions = new Counter({
      name: 's3seal_operator_webhook_admissions_total',
      help: 'Pods seen by the injection webhook, by result and reason (a fixed set of reasons)',
      labelNames: ['result', 'reason'],
      registers: [this.registry],
    });
    this.keyRotations = new Counter({
      name: 's3seal_operator_key_rotations_total',
      help: 'Key versions added by rotation (scheduled or requested)',
      registers: [this.registry],
    });
    this.isLeader = new Gauge({
      name: 's3seal_operator_leader',
      help: '1 while this replica holds the leader Lease',
      registers: [this.registry],
    });
    // Per policy: as many series as policies, which a cluster has few of (no object labels).
    this.policyReady = new Gauge({
      name: 's3seal_operator_policy_ready',
      help: '1 when the EncryptionPolicy is Ready (pods get injected), else 0',
      labelNames: ['namespace', 'policy'],
      registers: [this.registry],
    });
    this.policyNextRotation = new Gauge({
      name: 's3seal_operator_policy_next_rotation_timestamp_seconds',
      help: 'When the managed key of the policy is due for rotation (Unix seconds)',
      labelNames: ['namespace', 'policy'],
      registers: [this.registry],
    });
    this.policyActiveKeyVersion = new Gauge({
      name: 's3seal_operator_policy_active_key_version',
      help: 'Number of the active key version of the policy (v3 is 3)',
      labelNames: ['namespace', 'policy'],
      registers: [this.registry],
    });
    this.policyKeyManagerUp = new Gauge({
      name: 's3seal_operator_policy_key_manager_up',
      help: "1 when the operator's last probe found the policy's Vault Transit or AWS KMS key usable, else 0; absent for policies without one",
      labelNames: ['namespace', 'policy', 'key_manager'],
      registers: [this.registry],
    });
    const expiry = (): Date | undefined => this.certificateExpiry();
    new Gauge({
      name: 's3seal_operator_webhook_certificate_expiry_timestamp_seconds',
      help: "Expiry of the webhook's serving certificate (Unix seconds); absent until one is loaded",
      registers: [this.registry],
      collect() {
        const at = expiry();
        if (at) this.set(at.getTime() / 1000);
      },
    });
  }

  /** Records what the last reconcile of a policy found. */
  observePolicy(
    namespace: string,
    policy: string,
    state: {
      isReady: boolean;
      nextRotation?: Date;
      activeVersion?: string;
      /** false when an external key manager wraps new data keys. */
      isKeyringActive?: boolean;
      /** Per external key manager the policy names: whether its probe passed (unprobed: absent). */
      keyManagersUp?: Readonly<Partial<Record<KeyManagerLabel, boolean>>>;
    },
  ): void {
    const labels = { namespace, policy };
    this.policyReady.set(labels, state.isReady ? 1 : 0);
    if (state.nextRotation) this.policyNextRotation.set(labels, state.nextRotation.getTime() / 1000);
    else this.policyNextRotation.remove(labels);
    if (state.activeVersion) this.policyActiveKeyVersion.set(labels, Number(state.activeVersion.slice(1)));
    // Vault or KMS seals new objects now: no keyring version is active.
    else if (state.isKeyringActive === false) this.policyActiveKeyVersion.remove(labels);
    for (const manager of KEY_MANAGERS) {
      const up = state.keyManagersUp?.[manager];
      if (up === undefined) this.policyKeyManagerUp.remove({ ...labels, key_manager: manager });
      else this.policyKeyManagerUp.set({ ...labels, key_manager: manager }, up ? 1 : 0);
    }
  }

  /** Drops a deleted policy's series. */
  forgetPolicy(namespace: string, policy: string): void {
    const labels = { namespace, policy };
    this.policyReady.remove(labels);
    this.policyNextRotation.remove(labels);
    this.policyActiveKeyVersion.remove(labels);
    for (const manager of KEY_MANAGERS) this.policyKeyManagerUp.remove({ ...labels, key_manager: manager });
  }

  /** Where the certificate expiry gauge reads from. */
  watchCertificateExpiry(read: () => Date | undefined): void {
    this.certificateExpiry = read;
  }

  /** Times a reconcile and counts its result. */
  async timeReconcile<T>(run: () => Promise<T>): Promise<T> {
    const end = this.reconcileDuration.startTimer();
    try {
      const result = await run();
      this.reconciles.inc({ result: 'success' });
      return result;
    } catch (err: unknown) {
      this.reconciles.inc({ result: 'error' });
      throw err;
    } finally {
      end();
    }
  }
}
