// The Valkey deployments the proxy supports besides a plain server, as local redis-server
// processes on loopback: an ACL user, TLS, a Sentinel-managed primary with replicas, and a
// Cluster. Always processes of our own (VALKEY_URL and the container backend are not used).
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { findBinary } from './binaries.js';
import { isErrnoException, RigError, ServerStartError } from './errors.js';
import { freePort } from './ports.js';
import { createTestCa, LOOPBACK_NAMES } from './pki.js';
import {
  LOOPBACK,
  startValkeyFromConfig,
  type ValkeyProcess,
  waitFor,
  withValkey,
} from './valkey-process.js';

export type { ValkeyEndpoint, ValkeyProcess } from './valkey-process.js';

export interface StartValkeyWithAclOptions {
  username?: string;
  password?: string;
  /** The user's ACL rules after its password (default `~* &* +@all`). */
  rules?: string;
}

/** A server whose `default` user is off: only `username` with `password` gets in. */
export interface ValkeyAclServer extends ValkeyProcess {
  username: string;
  password: string;
}

export async function startValkeyWithAcl(options: StartValkeyWithAclOptions = {}): Promise<ValkeyAclServer> {
  const { username = 's3seal', password = 'secret', rules = '~* &* +@all' } = options;
  const server = await startValkeyFromConfig({
    name: 'redis-acl',
    config: (port) => [`port ${port}`, 'user default off', `user ${username} on >${password} ${rules}`],
    access: { username, password },
  });
  return { ...server, username, password };
}

/** A TLS-only server (no plain port) whose certificate, for localhost and 127.0.0.1, a throwaway CA signed. */
export interface ValkeyTlsServer extends ValkeyProcess {
  /** `rediss://localhost:<port>`: the name the certificate carries. */
  url: string;
  caPem: string;
  /** The CA in a PEM file (in the server's run dir, gone after stop). */
  caFile: string;
}

export async function startValkeyWithTls(): Promise<ValkeyTlsServer> {
  const ca = await createTestCa('s3seal-rig-valkey-ca');
  const serving = await ca.issue({ subject: 'CN=redis-server', usage: 'serverAuth', ...LOOPBACK_NAMES });
  let server: ValkeyProcess;
  try {
    server = await startValkeyFromConfig({
      name: 'redis-tls',
      config: async (port, runDir) => {
        await writeFile(path.join(runDir, 'ca.pem'), ca.caPem);
        await writeFile(path.join(runDir, 'server.crt'), serving.certPem);
        await writeFile(path.join(runDir, 'server.key'), serving.keyPem, { mode: 0o600 });
        return [
          'port 0',
          `tls-port ${port}`,
          'tls-cert-file server.crt',
          'tls-key-file server.key',
          // Required by redis-server even when clients need no certificate.
          'tls-ca-cert-file ca.pem',
          'tls-auth-clients no',
        ];
      },
      access: { tls: { caPem: ca.caPem } },
    });
  } catch (err: unknown) {
    if (err instanceof ServerStartError && /TLS/i.test(err.logTail)) {
      throw new RigError(
        'S3SEAL_RIG_SERVER_EXITED',
        `redis-server refused its TLS configuration: is it built with TLS support (BUILD_TLS=yes; Debian's is)?\n${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
  return {
    ...server,
    url: `rediss://localhost:${server.port}`,
    caPem: ca.caPem,
    caFile: path.join(server.runDir, 'ca.pem'),
  };
}

export interface StartValkeySentinelOptions {
  /** The name sentinels monitor the primary under (default `mymaster`). */
  name?: string;
  replicas?: number;
  /** 1 (quorum 1) or more (quorum: a majority). */
  sentinels?: number;
  /** How long a primary may not answer before a sentinel calls it down (default 1000). */
  downAfterMs?: number;
}

/** One primary, its replicas and the sentinels that watch them. */
export interface ValkeySentinelGroup {
  name: string;
  /** The primary at start: after a failover, one of the replicas is. */
  primary: ValkeyProcess;
  replicas: ValkeyProcess[];
  sentinels: ValkeyProcess[];
  /** `host:port,host:port`, as S3SEAL_VALKEY_SENTINELS takes it. */
  sentinelAddresses: string;
  /** The primary's address as the first sentinel answers it now. */
  currentPrimary(): Promise<{ host: string; port: number }>;
  /** Resolves once the sentinels name a primary other than `oldPort` and it answers as a primary. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<{ host: string; port: number }>;
  /** Sentinels first (no failover while stopping), then the servers. */
  stop(): Promise<void>;
}

export async function startValkeySentinel(
  options: StartValkeySentinelOptions = {},
): Promise<ValkeySentinelGroup> {
  const { name = 'mymaster', replicas: replicaCount = 1, sentinels: sentinelCount = 1 } = options;
  const downAfterMs = options.downAfterMs ?? 1_000;
  const started: ValkeyProcess[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order of start: sentinels, replicas, primary.
    for (const server of [...started].reverse()) await server.stop();
  };
  try {
    const primary = await startValkeyFromConfig({
      name: 'redis-primary',
      config: (port) => [`port ${port}`],
    });
    started.push(primary);
    const replicas: ValkeyProcess[] = [];
    for (let i = 0; i < replicaCount; i++) {
      const replica = await startValkeyFromConfig({
        name: 'redis-replica',
        config: (port) => [`port ${port}`, `replicaof ${LOOPBACK} ${primary.port}`],
      });
      started.push(replica);
      replicas.push(replica);
    }
    await waitFor(`${replicaCount} replica(s) in sync with the primary`, () =>
      withValkey(primary.endpoint, async (redis) => {
        const info = await redis.info('replication');
        return (info.match(/state=online/g) ?? []).length === replicaCount ? true : undefined;
      }),
    );

    const quorum = Math.floor(sentinelCount / 2) + 1;
    const sentinels: ValkeyProcess[] = [];
    for (let i = 0; i < sentinelCount; i++) {
      const sentinel = await startValkeyFromConfig({
        name: 'redis-sentinel',
        isSentinel: true,
        config: (port) => [
          `port ${port}`,
          `sentinel monitor ${name} ${LOOPBACK} ${primary.port} ${quorum}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
        ],
      });
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // A failover needs every sentinel to know the replicas (from the primary's INFO) and the others.
    for (const sentinel of sentinels) {
      await waitFor(
        `sentinel ${sentinel.port} to see ${replicaCount} replica(s), ${sentinelCount - 1} peer(s)`,
        () =>
          withValkey(sentinel.endpoint, async (redis) => {
            const known = (await redis.call('SENTINEL', 'REPLICAS', name)) as unknown[];
            const peers = (await redis.call('SENTINEL', 'SENTINELS', name)) as unknown[];
            return known.length === replicaCount && peers.length === sentinelCount - 1 ? true : undefined;
          }),
      );
    }

    const currentPrimary = (): Promise<{ host: string; port: number }> =>
      withValkey(sentinels[0]!.endpoint, async (redis) => {
        const address = (await redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
        return { host: address[0], port: Number(address[1]) };
      });
    return {
      name,
      primary,
      replicas,
      sentinels,
      sentinelAddresses: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      currentPrimary,
      waitForFailover: (oldPort, timeoutMs = 30_000) =>
        waitFor(
          `a failover away from the primary on port ${oldPort}`,
          async () => {
            const address = await currentPrimary();
            if (address.port === oldPort) return undefined;
            const role = await withValkey({ ...address }, (redis) => redis.call('ROLE'));
            return Array.isArray(role) && role[0] === 'master' ? address : undefined;
          },
          { timeoutMs },
        ),
      stop: stopAll,
    };
  } catch (err: unknown) {
    await stopAll();
    throw err;
  }
}

/** Primaries of one cluster, all 16384 slots assigned, no replicas. */
export interface ValkeyClusterGroup {
  nodes: ValkeyProcess[];
  /** The first node's `redis://` URL: a seed. */
  url: string;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

export async function startValkeyCluster({
  primaries = 3,
}: { primaries?: number } = {}): Promise<ValkeyClusterGroup> {
  const cli = findRedisCli();
  const nodes: ValkeyProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < primaries; i++) {
      nodes.push(
        await startValkeyFromConfig({
          name: 'redis-cluster',
          config: async (port) => [
            `port ${port}`,
            // The bus port is port+10000 by default, which may be taken or past 65535.
            `cluster-port ${await freePort()}`,
            'cluster-enabled yes',
            'cluster-config-file nodes.conf',
            'cluster-node-timeout 5000',
          ],
        }),
      );
    }
    // Nodes announce the address they were met on: 127.0.0.1, which is what a loopback client wants.
    await execFileAsync(
      cli,
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `${n.host}:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    for (const node of nodes) {
      await waitFor(`cluster node ${node.port} to see the cluster ok`, () =>
        withValkey(node.endpoint, async (redis) => {
          const info = (await redis.call('CLUSTER', 'INFO')) as string;
          const isOk = info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${primaries}`);
          return isOk ? true : undefined;
        }),
      );
    }
    return { nodes, url: nodes[0]!.url, stop };
  } catch (err: unknown) {
    await stop();
    throw err;
  }
}

/** redis-cli ships with redis-server (Debian's redis-tools, a dependency of redis-server). */
function findRedisCli(): string {
  const file = path.join(path.dirname(findBinary('redis-server')), 'redis-cli');
  try {
    accessSync(file, constants.X_OK);
  } catch (err: unknown) {
    if (!(isErrnoException(err) && (err.code === 'ENOENT' || err.code === 'EACCES'))) throw err;
    throw new RigError(
      'S3SEAL_RIG_BINARY_MISSING',
      `redis-cli not found at ${file} (next to redis-server); install redis-tools (make test-deps)`,
      { cause: err },
    );
  }
  return file;
}
