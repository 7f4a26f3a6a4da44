import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Keyring } from '@s3seal/core';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { makeBucketMatcher } from './bucket-policy.js';
import type { ProxyConfig } from './config.js';
import type { ProxyServices } from './context.js';
import { clientCredentials, upstreamCredentials } from './credentials.js';
import { WatchedKeyring } from './keyring/keyring-directory.js';
import { LayoutCache } from './ops/layout-cache.js';
import { createHealthServer } from './health-server.js';
import { createProxyServer } from './server.js';
import { UploadStateStore } from './state/upload-state-store.js';
import { connectValkey, createValkeyClient } from './state/valkey-client.js';
import { UpstreamClient } from './upstream/upstream-client.js';

export interface RunningProxy {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  /** http://host:port of /healthz and /readyz, when S3SEAL_METRICS_LISTEN is set. */
  readonly healthUrl: string | undefined;
  close(): Promise<void>;
}

/** Wires a proxy from its configuration and starts listening. */
export async function startProxy(
  config: ProxyConfig,
  log: Logger = pino({ level: config.logLevel }),
): Promise<RunningProxy> {
  const watched =
    config.kekDir === undefined
      ? undefined
      : await WatchedKeyring.open(config.kekDir, {
          keyringId: config.keyringId,
          onReload: (k) =>
            log.info({ activeVersion: k.activeVersion, versions: k.versions() }, 'keyring reloaded'),
          onError: (err) => log.error({ err }, 'keyring reload failed; keeping the previous keyring'),
        });
  const fromEnv = watched
    ? undefined
    : Keyring.fromEnv({ S3SEAL_KEK_ID: config.keyringId, ...config.keyringEnv });
  const keyring = watched ? (): Keyring => watched.current() : (): Keyring => fromEnv!;

  const onCredentialsError = (err: unknown): void =>
    log.error({ err }, 'credentials file unreadable or invalid; keeping the last good one');
  const credentials = upstreamCredentials(config, onCredentialsError);
  const upstream = new UpstreamClient({
    endpoint: config.upstream,
    region: config.region,
    pathStyle: config.upstreamPathStyle,
    credentials,
  });
  if (config.upstream.protocol === 'http:' && config.insecureUpstream) {
    log.warn(
      { upstream: config.upstream.origin },
      'UPSTREAM IS PLAIN HTTP: credentials and metadata travel unencrypted (S3SEAL_INSECURE_UPSTREAM=true)',
    );
  }
  const valkey = config.multipart ? createValkeyClient(config.multipart.valkey, log) : undefined;
  try {
    if (valkey) await connectValkey(valkey, config.multipart!.isValkeyRequired, log);
  } catch (err: unknown) {
    watched?.close();
    await upstream.close();
    throw err;
  }
  const services: ProxyServices = {
    config,
    upstream,
    keyring,
    log,
    isEncryptedBucket: makeBucketMatcher(config.buckets),
    uploads: valkey ? new UploadStateStore(valkey, config.multipart!.ttlSeconds) : undefined,
    layouts: new LayoutCache(),
  };
  const server = createProxyServer(services, {
    credentials: clientCredentials(config, credentials, onCredentialsError),
  });
  const health = config.metricsListen
    ? createHealthServer({
        keyring: () => ({ ok: true, detail: `${keyring().id} ${keyring().activeVersion}` }),
        s3Listener: () => ({ ok: server.listening }),
        ...(valkey ? { valkey: () => ({ ok: valkey.status === 'ready', detail: valkey.status }) } : {}),
      })
    : undefined;
  let healthUrl: string | undefined;
  try {
    await listen(server, config.listenPort, config.listenHost);
    if (health && config.metricsListen) {
      healthUrl = `http://${await listen(health, config.metricsListen.port, config.metricsListen.host)}`;
    }
  } catch (err: unknown) {
    server.close();
    watched?.close();
    valkey?.disconnect();
    await upstream.close();
    throw err;
  }
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  log.info(
    {
      listen: `${host}:${port}`,
      upstream: config.upstream.origin,
      keyring: keyring().id,
      activeKey: keyring().activeVersion,
      multipart: config.multipart ? 'encrypt' : 'refuse',
      ...(healthUrl === undefined ? {} : { health: healthUrl }),
    },
    's3seal proxy listening',
  );
  return {
    url: `http://${host}:${port}`,
    port,
    healthUrl,
    close: async () => {
      watched?.close();
      health?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await upstream.close();
      valkey?.disconnect();
    },
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
