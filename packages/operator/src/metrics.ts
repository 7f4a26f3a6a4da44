import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What a reconcile ended in; a bounded label (no namespace or name: cardinality stays fixed). */
export type ReconcileResultLabel = 'success' | 'error';
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
