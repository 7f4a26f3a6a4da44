#!/usr/bin/env node
// s3seal-proxy: reads the configuration, starts the proxy, stops it on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from './config.js';
import { startProxy } from './proxy.js';
import { ValkeyUnavailableError } from './state/valkey-client.js';

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const proxy = await startProxy(config);
  const stop = (): void => {
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  const isExplained = err instanceof ConfigError || err instanceof ValkeyUnavailableError;
  process.stderr.write(
    `s3seal-proxy: ${isExplained ? (err as Error).message : String((err as Error).stack ?? err)}\n`,
  );
  process.exit(err instanceof ConfigError ? 2 : 1);
});
