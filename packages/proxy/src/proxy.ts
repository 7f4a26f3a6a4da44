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
import { createProxyServer } from './server.js';
import { UploadStateStore } from './state/upload-state-store.js';
import { connectValkey, createValkeyClient } from './state/valkey-client.js';
import { UpstreamClient } from './upstream/upstream-client.js';

export interface RunningProxy {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
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
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listenPort, config.listenHost, () => resolve());
    });
  } catch (err: unknown) {
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
    },
    's3seal proxy listening',
  );
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      watched?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await upstream.close();
      valkey?.disconnect();
    },
  };
}
