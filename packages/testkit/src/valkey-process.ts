import net from 'node:net';
import tls from 'node:tls';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { Redis } from 'ioredis';

import { findBinary } from './binaries.js';
import { RigError } from './errors.js';
import { freePort, retryOnPortClash } from './ports.js';
import { startServerProcess } from './process.js';
import { createRunDir } from './run-dir.js';
import type { ValkeyServer } from './valkey.js';

export const LOOPBACK = '127.0.0.1';

/** How a client reaches one redis-server: address, TLS, ACL user. */
export interface ValkeyEndpoint {
  host: string;
  port: number;
  /** The CA to trust; the server's certificate names `servername` (default localhost). */
  tls?: { caPem: string; servername?: string };
  username?: string;
  password?: string;
}

/** One redis-server (or sentinel) this process started from a redis.conf in its run dir. */
export interface ValkeyProcess extends ValkeyServer {
  pid: number;
  endpoint: ValkeyEndpoint;
  runDir: string;
  logPath: string;
}

export interface ValkeyProcessSpec {
  /** Names the run dir (`redis`, `redis-acl`, `redis-sentinel`). */
  name: string;
  /** Starts `redis-server <conf> --sentinel`. */
  isSentinel?: boolean;
  /**
   * The redis.conf lines beyond bind, dir and persistence, for a client port picked for this
   * attempt: at least `port <port>` (or `port 0` and `tls-port <port>`). May write files into
   * runDir (certificates) and pick more ports (a cluster bus).
   */
  config: (port: number, runDir: string) => Promise<readonly string[]> | readonly string[];
  /** What the readiness probe and `endpoint` use besides host and port. */
  access?: Omit<ValkeyEndpoint, 'host' | 'port'>;
  /** Listen on this port rather than a free one (no retry on a clash: it stays taken). */
  port?: number;
  readyTimeoutMs?: number;
}

/**
 * Starts redis-server on loopback from a config file in a fresh run dir (no persistence, so no
 * RDB written at stop), on free ports, and waits until it answers PING as `access` says.
 */
export async function startValkeyFromConfig(spec: ValkeyProcessSpec): Promise<ValkeyProcess> {
  const binary = findBinary('redis-server');
  return retryOnPortClash(
    async () => {
      const runDir = await createRunDir(spec.name);
      const port = spec.port ?? (await freePort());
      const confPath = path.join(runDir, spec.isSentinel ? 'sentinel.conf' : 'redis.conf');
      const lines = [
        `bind ${LOOPBACK}`,
        `dir ${runDir}`,
        // A loopback-only test server: let sentinels and replicas in without extra ACL setup.
        'protected-mode no',
        ...(spec.isSentinel ? [] : ['save ""', 'appendonly no']),
        ...(await spec.config(port, runDir)),
      ];
      await writeFile(confPath, `${lines.join('\n')}\n`);
      const endpoint: ValkeyEndpoint = { host: LOOPBACK, port, ...spec.access };
      const server = await startServerProcess({
        name: spec.isSentinel ? 'redis-sentinel' : 'redis-server',
        command: binary,
        args: spec.isSentinel ? [confPath, '--sentinel'] : [confPath],
        runDir,
        isReady: (signal) => respPing(endpoint, signal),
        readyTimeoutMs: spec.readyTimeoutMs,
      });
      return {
        url: `${spec.access?.tls ? 'rediss' : 'redis'}://${LOOPBACK}:${port}`,
        host: LOOPBACK,
        port,
        pid: server.pid,
        endpoint,
        runDir,
        logPath: server.logPath,
        stop: server.stop,
      };
    },
    { attempts: spec.port === undefined ? undefined : 1 },
  );
}

/**
 * True when the server answers PING with PONG, after AUTH when the endpoint has a user. Raw RESP2
 * on a plain or TLS socket, no client library: a probe must leave nothing behind.
 */
export function respPing(endpoint: ValkeyEndpoint, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const commands: string[][] = [];
    if (endpoint.password !== undefined) {
      commands.push([
        'AUTH',
        ...(endpoint.username === undefined ? [] : [endpoint.username]),
        endpoint.password,
      ]);
    }
    commands.push(['PING']);
    const socket = endpoint.tls
      ? tls.connect({
          host: endpoint.host,
          port: endpoint.port,
          ca: endpoint.tls.caPem,
          servername: endpoint.tls.servername ?? 'localhost',
        })
      : net.connect({ host: endpoint.host, port: endpoint.port });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let reply = '';
    socket.setEncoding('utf8');
    socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => socket.write(commands.map(resp).join('')));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const lines = reply.split('\r\n');
      if (lines.length <= commands.length) return;
      socket.destroy();
      // Every reply here is one line: +OK, +PONG, or -ERR/-NOAUTH/-WRONGPASS/-LOADING.
      resolve(
        lines[commands.length - 1] === '+PONG' &&
          lines.slice(0, commands.length - 1).every((l) => l === '+OK'),
      );
    });
    socket.once('error', reject);
    socket.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    });
  });
}

function resp(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Runs `use` with an ioredis client for one server (no reconnection, no retries), then
 * disconnects: for the rig's own admin commands (INFO, SENTINEL, CLUSTER).
 */
export async function withValkey<T>(endpoint: ValkeyEndpoint, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
    ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
    ...(endpoint.tls
      ? { tls: { ca: endpoint.tls.caPem, servername: endpoint.tls.servername ?? 'localhost' } }
      : {}),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  // Failures reach the caller through the rejected command; the event would only be noise.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns a value (not undefined), or throws after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err: unknown) {
      // Not there yet (connection refused while a server changes role); kept for the timeout message.
      lastError = err;
    }
    if (performance.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new RigError(
        'S3SEAL_RIG_READY_TIMEOUT',
        `timed out after ${timeoutMs} ms waiting for ${what}${reason}`,
        { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
