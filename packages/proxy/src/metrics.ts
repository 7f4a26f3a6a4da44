import type { Keyring } from '@s3seal/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ProxyMetricsOptions {
  /** The current keyring (it follows its directory): read at each scrape for the active KEK version. */
  readonly keyring?: () => Keyring;
}

/**
 * The proxy's Prometheus metrics, on their own registry (several proxies may run in one test
 * process), served at /metrics on the operations listener (S3SEAL_METRICS_LISTEN).
 *
 * Labels are bounded on purpose: S3 operation names (a fixed set), status classes, a few error
 * kinds. No bucket or key labels: one series per object would take Prometheus down.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  /** Requests by S3 operation and status class (2xx, 3xx, 4xx, 5xx). */
  readonly requests: Counter<'operation' | 'status_class'>;
  readonly requestDuration: Histogram<'operation'>;
  /** Body bytes from and to clients. */
  readonly clientBytes: Counter<'direction'>;
  /** Seconds spent sealing and opening chunks (AEAD), summed over requests. */
  readonly cryptoSeconds: Counter<'operation'>;
  readonly upstreamRequests: Counter<'status_class'>;
  readonly upstreamDuration: Histogram;
  /** Upstream calls that got no HTTP answer (connection refused, reset, timeout). */
  readonly upstreamErrors: Counter<'kind'>;
  readonly inFlight: Gauge;
  /** Requests refused with SlowDown because the in-flight limit was reached. */
  readonly throttled: Counter;
  /** Requests refused before reaching the backend by signature checks, by S3 error code. */
  readonly authFailures: Counter<'code'>;
  /** Objects that failed authentication on the way out (tampered, truncated, wrong key). */
  readonly decryptFailures: Counter;
  readonly valkeyDuration: Histogram<'operation'>;
  readonly valkeyErrors: Counter<'operation'>;
  /** The active key version's number (v3 → 3), per keyring. */
  readonly activeKekVersion: Gauge<'keyring'>;
  /** Calls to external key managers (Vault Transit, AWS KMS) by source, operation and outcome. */
  readonly keyManagerCalls: Counter<'source' | 'operation' | 'outcome'>;
  readonly keyManagerDuration: Histogram<'source' | 'operation'>;
  /** 1 while a key manager's last probe succeeded, per key source. */
  readonly keyManagerUp: Gauge<'source'>;
  /** Bound once: the data path adds to these without a label lookup. */
  readonly clientBytesIn: Counter.Internal;
  readonly clientBytesOut: Counter.Internal;
  readonly encryptSeconds: Counter.Internal;
  readonly decryptSeconds: Counter.Internal;
  private keyring: (() => Keyring) | undefined;

  constructor(options: ProxyMetricsOptions = {}) {
    this.keyring = options.keyring;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 's3seal_proxy_' });
    this.requests = new Counter({
      name: 's3seal_proxy_requests_total',
      help: 'S3 requests by operation and status class',
      labelNames: ['operation', 'status_class'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 's3seal_proxy_request_duration_seconds',
      help: 'Time from request to the last response byte, by S3 operation',
      labelNames: ['operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.clientBytes = new Counter({
      name: 's3seal_proxy_client_bytes_total',
      help: 'Plaintext body bytes received from (in) and sent to (out) clients',
      labelNames: ['direction'],
      registers,
    });
    this.cryptoSeconds = new Counter({
      name: 's3seal_proxy_crypto_seconds_total',
      help: 'Seconds spent encrypting and decrypting object bodies',
      labelNames: ['operation'],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: 's3seal_proxy_upstream_requests_total',
      help: 'Requests to the S3 backend by status class',
      labelNames: ['status_class'],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 's3seal_proxy_upstream_duration_seconds',
      help: 'Time until the S3 backend answered (headers)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 's3seal_proxy_upstream_errors_total',
      help: 'Backend calls that got no HTTP answer, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 's3seal_proxy_inflight_requests',
      help: 'Requests being served',
      registers,
    });
    this.throttled = new Counter({
      name: 's3seal_proxy_throttled_requests_total',
      help: 'Requests refused with SlowDown at the in-flight limit',
      registers,
    });
    this.authFailures = new Counter({
      name: 's3seal_proxy_auth_failures_total',
      help: 'Requests refused by signature or credential checks, by S3 error code',
      labelNames: ['code'],
      registers,
    });
    this.decryptFailures = new Counter({
      name: 's3seal_proxy_decrypt_failures_total',
      help: 'Objects that failed authentication while being read (tampered, truncated or wrong key)',
      registers,
    });
    this.valkeyDuration = new Histogram({
      name: 's3seal_proxy_valkey_duration_seconds',
      help: 'Upload-state store (Valkey) operation latency',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.valkeyErrors = new Counter({
      name: 's3seal_proxy_valkey_errors_total',
      help: 'Upload-state store (Valkey) operations that failed',
      labelNames: ['operation'],
      registers,
    });
    this.keyManagerCalls = new Counter({
      name: 's3seal_proxy_key_manager_calls_total',
      help: 'Calls to external key managers by key source, operation (wrap, unwrap, generate, rewrap) and outcome (ok, unavailable, denied, unwrap_failed, error)',
      labelNames: ['source', 'operation', 'outcome'],
      registers,
    });
    this.keyManagerDuration = new Histogram({
      name: 's3seal_proxy_key_manager_duration_seconds',
      help: 'Time an external key manager took to answer, by key source and operation',
      labelNames: ['source', 'operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.keyManagerUp = new Gauge({
      name: 's3seal_proxy_key_manager_up',
      help: "1 while the key manager's last probe succeeded, else 0, per key source",
      labelNames: ['source'],
      registers,
    });
    // Read from the keyring at each scrape, so a reloaded keyring (a rotated Secret) shows at once.
    const readKeyring = (): Keyring | undefined => this.keyring?.();
    this.activeKekVersion = new Gauge({
      name: 's3seal_proxy_active_kek_version',
      help: 'Number of the active key-encryption key version (v3 is 3)',
      labelNames: ['keyring'],
      registers,
      collect(): void {
        const current = readKeyring();
        if (!current) return;
        this.reset();
        this.set({ keyring: current.id }, kekVersionNumber(current.activeVersion));
      },
    });
    this.clientBytesIn = this.clientBytes.labels('in');
    this.clientBytesOut = this.clientBytes.labels('out');
    this.encryptSeconds = this.cryptoSeconds.labels('encrypt');
    this.decryptSeconds = this.cryptoSeconds.labels('decrypt');
  }

  /** Follows a keyring for the active-version gauge (when it was not known at construction). */
  observeKeyring(keyring: () => Keyring): void {
    this.keyring = keyring;
  }
}

/** v3 → 3; NaN for a version not named v<n>. */
function kekVersionNumber(version: string): number {
  return /^v\d+$/.test(version) ? Number(version.slice(1)) : NaN;
}

/** "2xx".."5xx": the status label, bounded whatever a backend answers. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}
