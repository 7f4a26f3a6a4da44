import type { Readable } from 'node:stream';
import aws4 from 'aws4';
import { Agent, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Tracer } from '@opentelemetry/api';
import type { ProxyMetrics } from '../metrics.js';
import { statusClass } from '../metrics.js';
import { proxyTracer, SpanStatusCode, startClientSpan } from '../observability/tracing.js';
import { S3Error } from '../s3/errors.js';
import { encodeKeyPath, encodeQuery } from './uri-encode.js';

export interface UpstreamCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface UpstreamOptions {
  readonly endpoint: URL;
  readonly region: string;
  /** `https://host/bucket/key` (true) or `https://bucket.host/key` (false). */
  readonly pathStyle: boolean;
  readonly credentials: () => UpstreamCredentials;
  readonly connections?: number;
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
  /** CAs an https upstream is checked against (upstream-trust.ts); Node's defaults when absent. */
  readonly ca?: readonly string[] | undefined;
  /** Upstream request counts, latency and network errors; none: not recorded. */
  readonly metrics?: ProxyMetrics | undefined;
  /** Client spans; default: the global OpenTelemetry tracer (a no-op without an SDK). */
  readonly tracer?: Tracer | undefined;
}

export interface UpstreamRequest {
  readonly method: string;
  readonly bucket?: string | undefined;
  readonly key?: string | undefined;
  readonly query?: readonly (readonly [string, string])[];
  readonly headers?: Readonly<Record<string, string>>;
  /** A Buffer is hashed into the signature; a stream is sent as UNSIGNED-PAYLOAD. */
  readonly body?: Buffer | Readable | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type UpstreamResponse = Dispatcher.ResponseData;

/**
 * The only code that talks to the backend: builds the URL, signs with aws4 using the
 * upstream credentials, sends with an undici keep-alive pool. Network failures become a 503
 * S3 error, so a client sees "upstream unavailable" rather than a reset.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly options: UpstreamOptions;
  private readonly origin: string;
  private readonly tracer: Tracer;

  constructor(options: UpstreamOptions) {
    this.options = options;
    this.origin = options.endpoint.origin;
    this.tracer = options.tracer ?? proxyTracer;
    this.agent = new Agent({
      connections: options.connections ?? 128,
      keepAliveTimeout: 30_000,
      headersTimeout: options.headersTimeoutMs ?? 300_000,
      bodyTimeout: options.bodyTimeoutMs ?? 300_000,
      ...(options.ca ? { connect: { ca: [...options.ca] } } : {}),
    });
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const { host, path } = this.locate(req);
    const headers: Record<string, string> = { ...req.headers };
    const isStream = req.body !== undefined && !Buffer.isBuffer(req.body);
    if (isStream) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const signed = aws4.sign(
      {
        host,
        path,
        method: req.method,
        headers,
        service: 's3',
        region: this.options.region,
        body: Buffer.isBuffer(req.body) ? req.body : undefined,
      },
      this.options.credentials(),
    );
    const origin = this.options.pathStyle ? this.origin : `${this.options.endpoint.protocol}//${host}`;
    const sentHeaders = signed.headers as Record<string, string>;
    // traceparent goes in after signing: the backend does not need it signed, and a hop that
    // drops it cannot break the signature.
    const span = startClientSpan(this.tracer, req.method, host, req.bucket, sentHeaders);
    const metrics = this.options.metrics;
    const started = metrics ? performance.now() : 0;
    let up: UpstreamResponse;
    try {
      up = await this.agent.request({
        origin,
        path,
        method: req.method,
        headers: sentHeaders,
        body: req.body ?? null,
        signal: req.signal,
        // undici closes the connection after every HEAD by default, in case a broken server
        // sends a body anyway; S3 services do not, and a new TCP connection per HeadObject (and
        // per part-layout HEAD) cost the proxy about a third of a HEAD's CPU.
        ...(req.method === 'HEAD' ? { reset: false } : {}),
      });
    } catch (err: unknown) {
      const failure = toUpstreamError(err);
      const kind = networkErrorKind(err);
      if (metrics && kind !== undefined) metrics.upstreamErrors.labels(kind).inc();
      if (span) {
        span.setAttribute('error.type', kind ?? (err as Error).name);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      throw failure;
    }
    if (metrics) {
      metrics.upstreamRequests.labels(statusClass(up.statusCode)).inc();
      metrics.upstreamDuration.observe((performance.now() - started) / 1000);
    }
    if (span) {
      span.setAttribute('http.response.status_code', up.statusCode);
      if (up.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      // The span covers the body too: it ends when the caller has read or dropped it.
      up.body.once('close', () => span.end());
    }
    return up;
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private locate(req: UpstreamRequest): { host: string; path: string } {
    const base = this.options.endpoint;
    const prefix = base.pathname.replace(/\/+$/, '');
    const keyPath = req.key === undefined ? '' : `/${encodeKeyPath(req.key)}`;
    const query = req.query && req.query.length > 0 ? `?${encodeQuery(req.query)}` : '';
    if (req.bucket === undefined) return { host: base.host, path: `${prefix}/${query}` };
    if (this.options.pathStyle) {
      return { host: base.host, path: `${prefix}/${encodeURIComponent(req.bucket)}${keyPath || ''}${query}` };
    }
    return { host: `${req.bucket}.${base.host}`, path: `${prefix}${keyPath || '/'}${query}` };
  }
}

/**
 * The metric label of a call that got no HTTP answer, or undefined for one the proxy gave up
 * itself (the client went away) or that is not a network failure.
 */
export function networkErrorKind(err: unknown): string | undefined {
  if (err instanceof Error && err.name === 'AbortError') return undefined;
  if (err instanceof undiciErrors.RequestAbortedError) return undefined;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    code === 'ETIMEDOUT'
  )
    return 'timeout';
  if (err instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (code.startsWith('ERR_TLS_') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT')
    return 'tls';
  return undefined;
}

function toUpstreamError(err: unknown): unknown {
  if (err instanceof S3Error) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (err instanceof undiciErrors.RequestAbortedError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.SocketError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|EPIPE)$/.test(code) ||
    // An untrusted or mismatched upstream certificate: unreachable as far as the client can tell
    // (503, retryable once the CA bundle is fixed), never a 500 that looks like a proxy bug.
    /^(ERR_TLS_|CERT_|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_SSL_)/.test(code)
  ) {
    return new S3Error(
      'UpstreamUnavailable',
      `the upstream S3 service could not be reached (${code || (err as Error).name})`,
      {
        cause: err,
      },
    );
  }
  return err;
}
