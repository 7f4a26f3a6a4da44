import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { makeBucketMatcher } from './bucket-policy.js';
import { ConfigError } from './config.js';
import type { ProxyConfig } from './config.js';
import type { ProxyServices } from './context.js';
import { clientCredentials, upstreamCredentials } from './credentials.js';
import { openProxyKeySources } from './keys/proxy-key-sources.js';
import { OpenedKeysCache } from './ops/opened-keys.js';
import { RequestLimits } from './limits/request-limits.js';
import { ProxyMetrics } from './metrics.js';
import { createProxyLogger } from './observability/log.js';
import { LayoutCache } from './ops/layout-cache.js';
import { createHealthServer } from './health-server.js';
import { createProxyServer } from './server.js';
import { UploadStateStore } from './state/upload-state-store.js';
import { connectValkey, createValkeyClient } from './state/valkey-client.js';
import { WatchedKeyPair } from './tls/watched-key-pair.js';
import { UpstreamClient } from './upstream/upstream-client.js';
import { UpstreamProbe } from './upstream/upstream-probe.js';
import { upstreamCa } from './upstream/upstream-trust.js';

export interface RunningProxy {
  /** e.g. http://127.0.0.1:8080, or https:// with S3SEAL_TLS_CERT_FILE */
  readonly url: string;
  readonly port: number;
  /** http://host:port of /healthz and /readyz, when S3SEAL_METRICS_LISTEN is set. */
  readonly healthUrl: string | undefined;
  /**
   * Graceful stop: /readyz answers 503 and the listener stops accepting at once; requests in
   * flight get `graceMs` (default S3SEAL_SHUTDOWN_GRACE_SECONDS) to finish, then the rest are cut.
   */
  close(graceMs?: number): Promise<void>;
}

/** Wires a proxy from its configuration and starts listening. */
export async function startProxy(
  config: ProxyConfig,
  log: Logger = createProxyLogger(config.logLevel),
): Promise<RunningProxy> {
  // Files the configuration names are read first: a bad one stops the start as a config problem.
  let ca: readonly string[] | undefined;
  let keyPair: WatchedKeyPair | undefined;
  try {
    ca = upstreamCa(config.upstreamCaFile);
    keyPair =
      config.tls &&
      (await WatchedKeyPair.open(
        config.tls,
        keyPairWatch(() => server, log),
      ));
  } catch (err: unknown) {
    throw new ConfigError([`TLS files: ${(err as Error).message}`]);
  }
  const metrics = new ProxyMetrics();
  const keySources = await openProxyKeySources(config, log, metrics);
  if (keySources.keyring) metrics.observeKeyring(keySources.keyring);

  const onCredentialsError = (err: unknown): void =>
    log.error({ err }, 'credentials file unreadable or invalid; keeping the last good one');
  const credentials = upstreamCredentials(config, onCredentialsError);
  const upstream = new UpstreamClient({
    endpoint: config.upstream,
    region: config.region,
    pathStyle: config.upstreamPathStyle,
    credentials,
    ca,
    metrics,
  });
  if (config.upstream.protocol === 'http:' && config.insecureUpstream) {
    log.warn(
      { upstream: config.upstream.origin },
      'UPSTREAM IS PLAIN HTTP: credentials and metadata travel unencrypted (S3SEAL_INSECURE_UPSTREAM=true)',
    );
  }
  const valkey = config.multipart ? await createValkeyClient(config.multipart.valkey, log) : undefined;
  try {
    if (valkey) await connectValkey(valkey, config.multipart!.isValkeyRequired, log);
  } catch (err: unknown) {
    await keySources.close();
    keyPair?.close();
    await upstream.close();
    throw err;
  }
  const services: ProxyServices = {
    config,
    upstream,
    keys: keySources.keys,
    openedKeys: new OpenedKeysCache({
      ttlMs: config.dekCache.ttlSeconds * 1000,
      maxEntries: config.dekCache.maxEntries,
    }),
    log,
    isEncryptedBucket: makeBucketMatcher(config.buckets),
    uploads: valkey ? new UploadStateStore(valkey, config.multipart!.ttlSeconds, metrics) : undefined,
    layouts: new LayoutCache(),
    metrics,
  };
  const limits = new RequestLimits({
    maxInflight: config.maxInflight,
    idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    onCut: (requestId, err) => log.info({ requestId, code: err.code }, err.message),
  });
  const server: Server = createProxyServer(services, {
    credentials: clientCredentials(config, credentials, onCredentialsError),
    tls: keyPair?.current(),
    limits,
    maxHeaderBytes: config.maxHeaderBytes,
    headersTimeoutMs: config.idleTimeoutSeconds * 1000,
  });
  const probe = new UpstreamProbe({ endpoint: config.upstream, ca });
  let isShuttingDown = false;
  const health = config.metricsListen
    ? createHealthServer(
        {
          ...keySources.checks,
          // False from the first moment of a shutdown, so no new traffic is routed here.
          s3Listener: () =>
            isShuttingDown ? { ok: false, detail: 'shutting down' } : { ok: server.listening },
          upstream: () => probe.check(),
          ...(valkey ? { valkey: () => ({ ok: valkey.status === 'ready', detail: valkey.status }) } : {}),
        },
        metrics.registry,
      )
    : undefined;
  let healthUrl: string | undefined;
  try {
    await listen(server, config.listenPort, config.listenHost);
    if (health && config.metricsListen) {
      healthUrl = `http://${await listen(health, config.metricsListen.port, config.metricsListen.host)}`;
    }
  } catch (err: unknown) {
    server.close();
    health?.close();
    limits.close();
    await keySources.close();
    keyPair?.close();
    valkey?.disconnect();
    await probe.close();
    await upstream.close();
    throw err;
  }
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  log.info(
    {
      listen: `${host}:${port}`,
      tls: keyPair !== undefined,
      upstream: config.upstream.origin,
      ...keySources.describe(),
      multipart: config.multipart ? 'encrypt' : 'refuse',
      ...(healthUrl === undefined ? {} : { health: healthUrl }),
    },
    's3seal proxy listening',
  );
  let closing: Promise<void> | undefined;
  const close = async (graceMs: number): Promise<void> => {
    isShuttingDown = true;
    log.info({ inflight: limits.inflightCount, graceMs }, 'shutting down: finishing requests in flight');
    limits.drain();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections are closed as soon as their request is done (drain() also asks
    // clients to close them), so close() resolves once the last request in flight is answered.
    server.closeIdleConnections();
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    let graceTimer: NodeJS.Timeout | undefined;
    const isDrained = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((resolve) => (graceTimer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearInterval(sweep);
    clearTimeout(graceTimer);
    if (!isDrained) {
      log.warn(
        { inflight: limits.inflightCount },
        'shutdown grace period over: closing requests still in flight',
      );
      server.closeAllConnections();
      await closed;
    }
    limits.close();
    await keySources.close();
    keyPair?.close();
    health?.close();
    await probe.close();
    await upstream.close();
    valkey?.disconnect();
  };
  return {
    url: `${keyPair ? 'https' : 'http'}://${host}:${port}`,
    port,
    healthUrl,
    close: (graceMs = config.shutdownGraceSeconds * 1000) => (closing ??= close(graceMs)),
  };
}

/** Applies a renewed listener certificate without a restart; a bad pair keeps the old one. */
function keyPairWatch(
  server: () => Server,
  log: Logger,
): { onReload: (pair: { cert: string; key: string }) => void; onError: (err: unknown) => void } {
  return {
    onReload: (pair) => {
      (server() as unknown as HttpsServer).setSecureContext(pair);
      log.info('TLS certificate reloaded');
    },
    onError: (err) => log.error({ err }, 'TLS certificate reload failed; keeping the previous one'),
  };
}

/** Listens and answers `host:port` as bound (port 0 picks a free one). */
async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`;
}
