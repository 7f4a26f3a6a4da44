import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { selectRigBackend } from './backend.js';
import { findBinary } from './binaries.js';
import { RigError } from './errors.js';
import { freePort, retryOnPortClash } from './ports.js';
import { httpStatus } from './probes.js';
import { startServerProcess } from './process.js';
import { createRunDir } from './run-dir.js';

export interface MinioServer {
  /** `http://127.0.0.1:<port>`; use path-style addressing (`forcePathStyle: true`). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The drive MinIO stores objects in, to inspect what reached the backend. */
  dataDir: string;
  /** Undefined when MinIO is not a child process of this one (container backend). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface StartMinioOptions {
  /** Default us-east-1. */
  region?: string;
  readyTimeoutMs?: number;
  /**
   * Listen on this port with these root credentials rather than fresh ones: to start MinIO again
   * where clients (a proxy) expect the one that was stopped. Its data starts empty.
   */
  restartOf?: Pick<MinioServer, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>;
}

/** Starts a single-drive MinIO on free loopback ports with random root credentials. */
export async function startMinio(options: StartMinioOptions = {}): Promise<MinioServer> {
  if (selectRigBackend() === 'containers') {
    if (options.restartOf !== undefined)
      throw new RigError(
        'S3SEAL_RIG_BAD_BACKEND',
        'restartOf needs the process backend (S3SEAL_RIG_BACKEND=process)',
      );
    const { startMinioContainer } = await import('./containers.js');
    return startMinioContainer(options);
  }
  return startMinioProcess(options);
}

export function minioCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: randomBytes(10).toString('hex'), secretAccessKey: randomBytes(20).toString('hex') };
}

async function startMinioProcess(options: StartMinioOptions): Promise<MinioServer> {
  const binary = findBinary('minio');
  const region = options.region ?? 'us-east-1';
  const { accessKeyId, secretAccessKey } = options.restartOf ?? minioCredentials();
  const fixedPort =
    options.restartOf === undefined ? undefined : Number(new URL(options.restartOf.endpoint).port);
  return retryOnPortClash(async () => {
    const runDir = await createRunDir('minio');
    const dataDir = path.join(runDir, 'data');
    await mkdir(dataDir);
    const port = fixedPort ?? (await freePort());
    const consolePort = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'minio',
      command: binary,
      // --certs-dir: otherwise MinIO creates ~/.minio/certs.
      args: [
        'server',
        dataDir,
        `--address=127.0.0.1:${port}`,
        `--console-address=127.0.0.1:${consolePort}`,
        `--certs-dir=${path.join(runDir, 'certs')}`,
      ],
      env: {
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_SITE_REGION: region,
        // No update check against dl.min.io, no call home (cmd/common-main.go, internal/config).
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
        // CI mode caps the buffer pool at 256 MiB (cmd/erasure-server-pool.go), so parallel suites fit.
        MINIO_CI_CD: 'on',
      },
      runDir,
      isReady: async (signal) => (await httpStatus(`${endpoint}/minio/health/ready`, signal)) === 200,
      readyTimeoutMs: options.readyTimeoutMs,
    });
    return { endpoint, region, accessKeyId, secretAccessKey, dataDir, pid: server.pid, stop: server.stop };
  });
}
