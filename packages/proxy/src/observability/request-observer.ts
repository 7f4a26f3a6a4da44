import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyServices } from '../context.js';
import { statusClass } from '../metrics.js';
import type { S3Error } from '../s3/errors.js';
import { MeteredResponse } from './metered-response.js';
import { RequestMeter } from './request-meter.js';
import { endServerSpan, proxyTracer, startServerSpan, traceFields, withServerSpan } from './tracing.js';
import type { ServerSpan } from './tracing.js';

/** S3 codes that come from the signature checks of a request's body (chunk or trailer signatures). */
const BODY_AUTH_CODES: ReadonlySet<string> = new Set(['SignatureDoesNotMatch']);

/**
 * Cross-cutting work around one request, at fixed points in server.ts: `start` (in-flight
 * gauge, server span), `run` (the handler inside the span's context), `fail` (auth and decrypt
 * failure counters), `finish` (request metrics, the span's end and exactly one access-log
 * line). The access log has no URL, key, query or header: nothing signed or secret.
 */
export class RequestObserver {
  readonly meter = new RequestMeter();
  private readonly span: ServerSpan;
  private readonly started = performance.now();
  private error: S3Error | undefined;
  private cause: unknown;

  constructor(
    private readonly services: ProxyServices,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly requestId: string,
  ) {
    services.metrics?.inFlight.inc();
    this.span = startServerSpan(services.tracer ?? proxyTracer, req);
  }

  /** Runs the handler with the request's span as the active one (upstream calls become children). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return withServerSpan(this.span, fn);
  }

  /**
   * The request failed with `err` (as S3 will read it). `isBeforeAuth`: it failed while the
   * request's signature was being checked, so it never reached the backend.
   */
  fail(s3: S3Error, err: unknown, isBeforeAuth: boolean): void {
    this.error = s3;
    this.cause = err;
    const metrics = this.services.metrics;
    if (!metrics) return;
    if ((isBeforeAuth && s3.status < 500) || BODY_AUTH_CODES.has(s3.code)) {
      metrics.authFailures.labels(s3.code).inc();
    }
    if (s3.code === 'DecryptionFailed') metrics.decryptFailures.inc();
  }

  /** Once per request, whatever happened: metrics, span, access log. */
  finish(operation: string, bucket: string | undefined): void {
    const seconds = (performance.now() - this.started) / 1000;
    const { res, meter, error } = this;
    const status = res.statusCode;
    const bytesOut = res instanceof MeteredResponse ? res.bodyBytes : undefined;
    const metrics = this.services.metrics;
    if (metrics) {
      metrics.inFlight.dec();
      metrics.requests.labels(operation, statusClass(status)).inc();
      metrics.requestDuration.labels(operation).observe(seconds);
      if (meter.bytesIn > 0) metrics.clientBytesIn.inc(meter.bytesIn);
      if (bytesOut !== undefined && bytesOut > 0) metrics.clientBytesOut.inc(bytesOut);
      if (meter.encryptMs > 0) metrics.encryptSeconds.inc(meter.encryptMs / 1000);
      if (meter.decryptMs > 0) metrics.decryptSeconds.inc(meter.decryptMs / 1000);
    }
    endServerSpan(this.span, operation, bucket, status, error?.code);
    const isServerError = error !== undefined && error.status >= 500;
    const line = {
      requestId: this.requestId,
      operation,
      method: this.req.method,
      bucket,
      status,
      bytesIn: meter.bytesIn,
      bytesOut,
      durationMs: Math.round(seconds * 10_000) / 10,
      ...traceFields(this.span),
      // A response cut short (the client went away, or a stored chunk failed after the headers).
      ...(res.writableEnded ? {} : { isComplete: false }),
      ...(error === undefined ? {} : { code: error.code, error: error.message }),
      ...(isServerError ? { err: this.cause as Error } : {}),
    };
    if (isServerError) this.services.log.error(line, 'request');
    else this.services.log.info(line, 'request');
  }
}
