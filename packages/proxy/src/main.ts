#!/usr/bin/env node
// s3seal-proxy: reads the configuration, starts the proxy, stops it gracefully on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config.js';
import { startTracing, TracingSetupError } from './observability/otel.js';
import { startProxy } from './proxy.js';
import { ValkeyUnavailableError } from './state/valkey-client.js';

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  // Only with OTEL_EXPORTER_OTLP_* set: otherwise the OpenTelemetry API stays a no-op.
  const tracing = await startTracing(process.env);
  const proxy = await startProxy(config);
  // The kubelet sends SIGTERM, waits terminationGracePeriodSeconds (30), then SIGKILLs: requests
  // in flight get S3SEAL_SHUTDOWN_GRACE_SECONDS to finish. A second signal stops at once.
  const stop = (): void => {
    process.once('SIGTERM', () => process.exit(1));
    process.once('SIGINT', () => process.exit(1));
    void proxy
      .close()
      .then(() => tracing?.shutdown())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  const isExplained =
    err instanceof ConfigError || err instanceof ValkeyUnavailableError || err instanceof TracingSetupError;
  process.stderr.write(
    `s3seal-proxy: ${isExplained ? (err as Error).message : String((err as Error).stack ?? err)}\n`,
  );
  process.exit(err instanceof ConfigError ? 2 : 1);
});
