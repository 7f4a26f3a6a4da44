// The stack under test: MinIO (testkit) and the proxy process in front of it, with one client of
// each kind per target. "direct" talks to MinIO, "s3seal" to the proxy, with the same credentials.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { applyLayout, cpuLayout } from './affinity.js';
import type { CpuLayout, LayoutName } from './affinity.js';
import type { BenchConfig } from './config.js';
import { proxyHasOption, startProxyProcess } from './proxy-process.js';
import type { ProxyProcess } from './proxy-process.js';
import { S3Http } from './s3-http.js';

export type TargetName = 'direct' | 's3seal';
export const TARGETS: readonly TargetName[] = ['direct', 's3seal'];

export interface Target {
  readonly name: TargetName;
  readonly endpoint: string;
  readonly http: S3Http;
  readonly sdk: S3Client;
}

export interface Rig {
  readonly minio: MinioServer;
  readonly minioPid: number;
  /** Holds multipart state, when the proxy build has multipart (S3SEAL_VALKEY_URL). */
  readonly valkey: ValkeyServer | undefined;
  readonly proxy: ProxyProcess;
  /** The environment the rig's proxy was started with (for further proxies of the same kind). */
  readonly proxyEnv: Readonly<Record<string, string>>;
  readonly targets: Readonly<Record<TargetName, Target>>;
  /** Created through MinIO; the proxy encrypts every bucket (S3SEAL_BUCKETS=*). */
  readonly bucket: string;
  layout: CpuLayout;
  useLayout(name: LayoutName): Promise<void>;
  /** Targets in an order that alternates from run to run, so drift does not favour one side. */
  ordered(run: number): readonly Target[];
  stop(): Promise<void>;
}

export async function startRig(config: BenchConfig): Promise<Rig> {
  const minio = await startMinio();
  if (minio.pid === undefined) {
    await minio.stop();
    throw new Error(
      'benchmarks need MinIO as a local process (S3SEAL_RIG_BACKEND=containers is not supported)',
    );
  }
  let valkey: ValkeyServer | undefined;
  let proxy: ProxyProcess;
  let proxyEnv: Record<string, string>;
  try {
    valkey = (await proxyHasOption(config.proxyMain, 'S3SEAL_VALKEY_URL'))
      ? await startValkey({ allowExternal: false })
      : undefined;
    proxyEnv = {
      ...config.inheritedEnv,
      ...(valkey ? { S3SEAL_VALKEY_URL: valkey.url } : {}),
      ...config.proxyEnv,
    };
    proxy = await startProxyProcess({
      main: config.proxyMain,
      minio,
      logPath: path.join(config.outDir, 'proxy.log'),
      logLevel: config.proxyLogLevel,
      env: proxyEnv,
    });
  } catch (err: unknown) {
    await valkey?.stop();
    await minio.stop();
    throw err;
  }
  const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
  const target = (name: TargetName, endpoint: string): Target => ({
    name,
    endpoint,
    http: new S3Http(endpoint, credentials, minio.region),
    sdk: new S3Client({
      endpoint,
      region: minio.region,
      forcePathStyle: true,
      credentials,
      // No client-side CRC of every part: the load generator should cost as little as possible.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  });
  const targets = { direct: target('direct', minio.endpoint), s3seal: target('s3seal', proxy.url) };
  const bucket = `bench-${randomBytes(4).toString('hex')}`;
  await targets.direct.http.createBucket(bucket);
  const pids = { proxy: proxy.pid, minio: minio.pid, valkey: valkey?.pid };
  const rig: Rig = {
    minio,
    minioPid: minio.pid,
    valkey,
    proxy,
    proxyEnv,
    targets,
    bucket,
    layout: cpuLayout('unpinned'),
    useLayout: async (name) => {
      rig.layout = cpuLayout(name);
      await applyLayout(rig.layout, pids);
    },
    ordered: (run) => (run % 2 === 0 ? [targets.direct, targets.s3seal] : [targets.s3seal, targets.direct]),
    stop: async () => {
      for (const t of Object.values(targets)) {
        t.sdk.destroy();
        await t.http.close();
      }
      await proxy.stop();
      await valkey?.stop();
      await minio.stop();
    },
  };
  return rig;
}
