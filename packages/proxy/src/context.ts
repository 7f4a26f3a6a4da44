import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeySources } from '@s3seal/core';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { RawRequest, VerifiedRequest } from './auth/index.js';
import type { ProxyConfig } from './config.js';
import type { ProxyMetrics } from './metrics.js';
import type { RequestMeter } from './observability/request-meter.js';
import type { LayoutCache } from './ops/layout-cache.js';
import type { OpenedKeysCache } from './ops/opened-keys.js';
import type { S3Action } from './router.js';
import type { RequestTarget } from './s3/request-target.js';
import type { UploadStateStore } from './state/upload-state-store.js';
import type { UpstreamClient } from './upstream/upstream-client.js';

/** Long-lived services a handler works through; built once in main.ts. */
export interface ProxyServices {
  readonly config: ProxyConfig;
  readonly upstream: UpstreamClient;
  /** The current key sources (a keyring follows its directory, so ask per request). */
  readonly keys: () => KeySources;
  /** Unwrapped data keys of recent objects and uploads (bounded in time and size). */
  readonly openedKeys: OpenedKeysCache;
  readonly log: Logger;
  /** Whether a bucket's objects are encrypted (S3SEAL_BUCKETS). */
  readonly isEncryptedBucket: (bucket: string) => boolean;
  /** In-flight multipart uploads (Valkey); undefined when multipart uploads are refused. */
  readonly uploads: UploadStateStore | undefined;
  /** Part layouts of multipart objects, per version. */
  readonly layouts: LayoutCache;
  /** Prometheus metrics (served at /metrics on the operations listener); none: not recorded. */
  readonly metrics?: ProxyMetrics | undefined;
  /** Where request spans go; default: the global OpenTelemetry tracer (a no-op without an SDK). */
  readonly tracer?: Tracer | undefined;
}

/** One verified request on its way through a handler. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly raw: RawRequest;
  readonly verified: VerifiedRequest;
  readonly target: RequestTarget;
  readonly action: S3Action;
  /** Whether this bucket's objects are encrypted (else the request passes through as is). */
  readonly isEncrypted: boolean;
  /** Aborted when the client goes away, so the upstream call stops too. */
  readonly signal: AbortSignal;
  /** Per-request byte and crypto-time counters (see observability/request-meter.ts). */
  readonly meter: RequestMeter;
}

export type Handler = (ctx: RequestContext, services: ProxyServices) => Promise<void>;
