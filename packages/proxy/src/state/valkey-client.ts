import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { ValkeyConfig } from '../config.js';

/** A standalone or sentinel-managed Valkey (Redis), or a Valkey Cluster: the commands the store uses are the same. */
export type ValkeyClient = Redis | Cluster;

/** The proxy could not reach Valkey at start while S3SEAL_VALKEY_REQUIRED=true. */
export class ValkeyUnavailableError extends Error {
  override readonly name = 'ValkeyUnavailableError';
  readonly code = 'S3SEAL_VALKEY_UNAVAILABLE';
}

/** How long a connection attempt or a command may take before it fails (and the client gets 503). */
const CONNECT_TIMEOUT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Options that fail fast: while Valkey is away a command fails at once (no offline queue)
 * rather than holding a client's request, and reconnection goes on in the background.
 */
const FAIL_FAST: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: CONNECT_TIMEOUT_MS,
  commandTimeout: COMMAND_TIMEOUT_MS,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
};

export type ValkeyClientPlan =
  | { readonly kind: 'standalone'; readonly options: RedisOptions }
  | { readonly kind: 'sentinel'; readonly options: RedisOptions }
  | {
      readonly kind: 'cluster';
      readonly seeds: readonly { host: string; port: number }[];
      readonly options: ClusterOptions;
    };

/** The ioredis options for a configuration (no I/O but reading the CA file). */
export function planValkeyClient(
  config: ValkeyConfig,
  readCa: (path: string) => Buffer = readFileSync,
): ValkeyClientPlan {
  const url = new URL(config.url.reveal());
  const isTls = url.protocol === 'rediss:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 6379 : Number(url.port);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  const tls = isTls
    ? {
        // SNI takes a host name only (RFC 6066 §3; Node warns DEP0123): for an IP address Node
        // checks the certificate against the connection's host, i.e. its IP SANs.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(config.tlsCaFile === undefined ? {} : { ca: readCa(config.tlsCaFile) }),
      }
    : undefined;
  const auth: RedisOptions = {
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(config.password === undefined ? {} : { password: config.password.reveal() }),
    ...(tls ? { tls } : {}),
  };
  if (config.isCluster) {
    return {
      kind: 'cluster',
      seeds: [{ host, port }],
      options: {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRedirections: 4,
        clusterRetryStrategy: FAIL_FAST.retryStrategy!,
        redisOptions: { ...FAIL_FAST, ...auth, lazyConnect: undefined },
      },
    };
  }
  if (config.sentinels.length > 0) {
    return {
      kind: 'sentinel',
      options: {
        ...FAIL_FAST,
        ...auth,
        db,
        sentinels: config.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: config.sentinelName!,
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      },
    };
  }
  return { kind: 'standalone', options: { ...FAIL_FAST, ...auth, host, port, db } };
}

export async function createValkeyClient(config: ValkeyConfig, log: Logger): Promise<ValkeyClient> {
  // Loaded only with multipart on: a proxy that refuses multipart never pays its ~7 MiB of RSS.
  const { Cluster, Redis } = await import('ioredis');
  const plan = planValkeyClient(config);
  const client =
    plan.kind === 'cluster' ? new Cluster([...plan.seeds], plan.options) : new Redis(plan.options);
  // ioredis reports every failed reconnection; one line per outage is enough.
  let isDown = false;
  client.on('error', (err: Error) => {
    if (isDown) return;
    isDown = true;
    log.warn({ err: err.message }, 'upload state store (Valkey) unavailable; multipart calls get 503');
  });
  client.on('ready', () => {
    if (isDown) log.info('upload state store (Valkey) is back');
    isDown = false;
  });
  return client;
}

/**
 * Connects at start. Required: Valkey must answer PING now, or the proxy does not start.
 * Not required: the proxy starts either way, and reconnects in the background.
 */
export async function connectValkey(client: ValkeyClient, isRequired: boolean, log: Logger): Promise<void> {
  // connect() rejects with "Connection is closed"; the error event says why (ECONNREFUSED, auth).
  let cause: Error | undefined;
  const onError = (err: Error): void => {
    cause ??= err;
  };
  client.on('error', onError);
  try {
    await client.connect();
    await client.ping();
  } catch (err: unknown) {
    cause = redactCredentials(cause ?? (err as Error));
    if (isRequired) {
      client.disconnect();
      throw new ValkeyUnavailableError(
        `upload state store (Valkey) did not answer at start (${cause.message}); multipart uploads need it. Check S3SEAL_VALKEY_URL, or set S3SEAL_VALKEY_REQUIRED=false to start without it (multipart calls then get 503), or S3SEAL_MULTIPART=refuse`,
        { cause },
      );
    }
    log.warn(
      { err: cause.message },
      'upload state store (Valkey) unavailable at start; multipart calls get 503 until it answers',
    );
  } finally {
    client.off('error', onError);
  }
}

/**
 * ioredis puts the failed command on its ReplyError (`err.command = { name, args }`); for AUTH
 * and HELLO (RESP3 with AUTH) the arguments hold the user and password, which anything that
 * prints the error with its causes (util.inspect, an uncaught error, a logger) would show.
 * Walks `cause` and a Cluster's `lastNodeError` too.
 */
export function redactCredentials(err: Error): Error {
  const seen = new Set<unknown>();
  for (let at: unknown = err; typeof at === 'object' && at !== null && !seen.has(at);) {
    seen.add(at);
    const { command, cause, lastNodeError } = at as {
      command?: { name?: unknown; args?: unknown };
      cause?: unknown;
      lastNodeError?: unknown;
    };
    if (typeof command === 'object' && command !== null && /^(auth|hello)$/i.test(String(command.name))) {
      command.args = ['[redacted]'];
    }
    at = lastNodeError ?? cause;
  }
  return err;
}
