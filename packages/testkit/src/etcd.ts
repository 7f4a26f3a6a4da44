import path from 'node:path';

import { findBinary } from './binaries.js';
import { freePort, retryOnPortClash } from './ports.js';
import { httpStatus } from './probes.js';
import { startServerProcess } from './process.js';
import { createRunDir } from './run-dir.js';

export interface EtcdServer {
  /** `http://127.0.0.1:<port>`, for kube-apiserver's --etcd-servers. */
  endpoint: string;
  pid: number;
  readyAfterMs: number;
  stop(): Promise<void>;
}

/** A one-member etcd on loopback, the way controller-runtime's envtest runs it (controlplane/etcd.go). */
export async function startEtcd(options: { readyTimeoutMs?: number } = {}): Promise<EtcdServer> {
  const binary = findBinary('etcd');
  return retryOnPortClash(async () => {
    const runDir = await createRunDir('etcd');
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const server = await startServerProcess({
      name: 'etcd',
      command: binary,
      args: [
        '--name=rig',
        `--data-dir=${path.join(runDir, 'data')}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=rig=${peerUrl}`,
        // Test data needs no durability; fsync dominates etcd's write latency (etcd >= 3.5).
        '--unsafe-no-fsync=true',
      ],
      runDir,
      isReady: async (signal) => (await httpStatus(`${clientUrl}/health`, signal)) === 200,
      readyTimeoutMs: options.readyTimeoutMs,
    });
    return { endpoint: clientUrl, pid: server.pid, readyAfterMs: server.readyAfterMs, stop: server.stop };
  });
}
