import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { markTracingStarted } from './tracing.js';

/** The standard OpenTelemetry variables this module reads (from the environment main.ts passes). */
export type OtelEnv = Readonly<Record<string, string | undefined>>;

export interface TracingOptions {
  /** Export here instead of OTLP (tests: an InMemorySpanExporter), each span as it ends. */
  readonly exporter?: SpanExporter;
}

export interface Tracing {
  /** Where spans go: the OTLP traces URL, or "custom" for an exporter given in code. */
  readonly destination: string;
  /** Flushes pending spans and unregisters the SDK. */
  shutdown(): Promise<void>;
}

/** The SDK packages are optional dependencies: a missing one is explained, not a stack trace. */
export class TracingSetupError extends Error {
  readonly code = 'S3SEAL_TRACING_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TracingSetupError';
  }
}

/**
 * Registers the OpenTelemetry SDK (tracer provider, AsyncLocalStorage context manager, W3C
 * trace-context propagator) when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (or an exporter is given), exporting over OTLP/HTTP in
 * batches. Otherwise it loads nothing and returns undefined: the proxy's spans stay no-ops.
 * `OTEL_SDK_DISABLED=true` turns it off; `OTEL_SERVICE_NAME` names the service (default
 * s3seal-proxy). The SDK packages are loaded by dynamic import only here, so a proxy without
 * tracing never loads them.
 */
export async function startTracing(env: OtelEnv, options: TracingOptions = {}): Promise<Tracing | undefined> {
  const url = tracesUrl(env);
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  if (url === undefined && options.exporter === undefined) return undefined;
  const [sdk, core, hooks, resources] = await Promise.all([
    load(() => import('@opentelemetry/sdk-trace')),
    load(() => import('@opentelemetry/core')),
    load(() => import('@opentelemetry/context-async-hooks')),
    load(() => import('@opentelemetry/resources')),
  ]);
  let processor;
  if (options.exporter) {
    processor = new sdk.SimpleSpanProcessor({ exporter: options.exporter });
  } else {
    const { OTLPTraceExporter } = await load(() => import('@opentelemetry/exporter-trace-otlp-http'));
    processor = new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) });
  }
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': env['OTEL_SERVICE_NAME']?.trim() || 's3seal-proxy',
    }),
    spanProcessors: [processor],
  });
  const contextManager = new hooks.AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  markTracingStarted(true);
  return {
    destination: options.exporter ? 'custom' : url!,
    shutdown: async () => {
      markTracingStarted(false);
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** OTLP/HTTP traces URL per the spec: the signal-specific variable as is, else the base + /v1/traces. */
export function tracesUrl(env: OtelEnv): string | undefined {
  const specific = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (specific) return specific;
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

async function load<T>(importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (err: unknown) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new TracingSetupError(
      'an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT) but the OpenTelemetry SDK packages, ' +
        'optional dependencies of @s3seal/proxy, are not installed',
      { cause: err },
    );
  }
}
