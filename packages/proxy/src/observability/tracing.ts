import type { IncomingMessage } from 'node:http';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { Context, Span, Tracer } from '@opentelemetry/api';

/**
 * Spans through @opentelemetry/api only: the global tracer and propagator, which are no-ops
 * until an SDK is registered (observability/otel.ts does that when an OTLP endpoint is set).
 * Without one, a request costs one non-recording span object and nothing else.
 */
export const TRACER_NAME = '@s3seal/proxy';

/** Resolved once; it forwards to whatever provider is registered later (a ProxyTracer). */
export const proxyTracer: Tracer = trace.getTracer(TRACER_NAME);

/** Whether otel.ts registered an SDK in this process. */
let isTracingStarted = false;

/** Set by otel.ts when it registers (or shuts down) an SDK. */
export function markTracingStarted(isStarted: boolean): void {
  isTracingStarted = isStarted;
}

/** The server span of one request, and the context handlers run in (undefined: nothing to carry). */
export interface ServerSpan {
  readonly span: Span;
  readonly context: Context | undefined;
}

/**
 * Starts a request's server span, child of the client's W3C `traceparent` when it sent one.
 * The name is set to the S3 operation once the request is routed (see nameServerSpan).
 */
export function startServerSpan(tracer: Tracer, req: IncomingMessage): ServerSpan {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(
    'S3',
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'GET' } },
    parent,
  );
  // With no SDK and no propagator the span is invalid: there is nothing to hand down.
  const isLive = span.isRecording() || isSpanContextValid(span.spanContext());
  return { span, context: isLive ? trace.setSpan(parent, span) : undefined };
}

/** Runs a handler inside the request's span context, so upstream calls become its children. */
export function withServerSpan<T>(server: ServerSpan, fn: () => Promise<T>): Promise<T> {
  return server.context === undefined ? fn() : context.with(server.context, fn);
}

/** Ends the server span with the response's status (5xx is an error; 4xx is the client's). */
export function endServerSpan(
  { span }: ServerSpan,
  operation: string,
  bucket: string | undefined,
  status: number,
  errorCode: string | undefined,
): void {
  if (!span.isRecording()) return;
  span.updateName(operation);
  span.setAttribute('http.response.status_code', status);
  span.setAttribute('rpc.method', operation);
  if (bucket !== undefined) span.setAttribute('aws.s3.bucket', bucket);
  if (errorCode !== undefined) span.setAttribute('error.type', errorCode);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** trace_id and span_id for the access log, when the request has a valid span. */
export function traceFields(server: ServerSpan): { trace_id?: string; span_id?: string } {
  const spanContext = server.span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/**
 * A client span for one upstream call, child of the active span, with the W3C headers
 * written into `headers` (after signing: they are not part of the upstream signature).
 * Undefined when there is nothing to record or propagate.
 */
export function startClientSpan(
  tracer: Tracer,
  method: string,
  host: string,
  bucket: string | undefined,
  headers: Record<string, string>,
): Span | undefined {
  const active = context.active();
  // No request span and no SDK started here: skip even the non-recording span object.
  if (active === ROOT_CONTEXT && !isTracingStarted) return undefined;
  const span = tracer.startSpan(
    method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'server.address': host,
        'rpc.system': 'aws-api',
        'rpc.service': 'S3',
        ...(bucket === undefined ? {} : { 'aws.s3.bucket': bucket }),
      },
    },
    active,
  );
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return undefined;
  propagation.inject(trace.setSpan(active, span), headers);
  return span;
}

export { SpanStatusCode };
