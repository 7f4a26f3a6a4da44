// Peak RSS of the proxy while it streams one huge object (PUT, then GET) and while it takes many
// concurrent uploads. Memory should be bounded by chunk size × streams, not by object size.
import path from 'node:path';
import { pinProcess } from '../affinity.js';
import type { BenchConfig } from '../config.js';
import { timed } from '../measure.js';
import { memory, PeakSampler } from '../proc-stats.js';
import { startProxyProcess } from '../proxy-process.js';
import type { ProxyProcess } from '../proxy-process.js';
import type { Rig } from '../rig.js';
import { S3Http } from '../s3-http.js';
import { MIB } from '../units.js';
import { expectBytes } from './large-objects.js';

export interface PeakFigure {
  readonly peakRssMiB: number;
  readonly seconds: number;
  readonly mibPerSecond: number;
}

export interface MemoryResult {
  /** RSS of the freshly started, idle proxy. */
  readonly idleRssMiB: number;
  readonly hugeBytes: number;
  readonly hugePut: PeakFigure;
  readonly hugeGet: PeakFigure;
  readonly uploads: number;
  readonly uploadBytes: number;
  readonly concurrentUploads: PeakFigure;
}

export async function runMemory(
  rig: Rig,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<MemoryResult> {
  await rig.useLayout('pinned');
  const size = config.hugeBytes;
  const key = 'memory/huge';
  const keys = Array.from({ length: config.manyUploads }, (_, i) => `memory/many-${i}`);

  // A fresh proxy for each load, so a peak is that load's and not left over from earlier phases.
  const huge = await withFreshProxy(rig, config, async (proxy, http) => {
    const idleRssMiB = memory(proxy.pid).rssMiB;
    const put = await peakDuring(rig, proxy.pid, size, () => http.put(rig.bucket, key, size));
    log(
      `memory: ${size / MIB} MiB PUT peak RSS ${put.peakRssMiB.toFixed(0)} MiB (idle ${idleRssMiB.toFixed(0)} MiB)`,
    );
    const get = await peakDuring(rig, proxy.pid, size, async () =>
      expectBytes(await http.get(rig.bucket, key), size),
    );
    log(`memory: ${size / MIB} MiB GET peak RSS ${get.peakRssMiB.toFixed(0)} MiB`);
    await http.delete(rig.bucket, key);
    return { idleRssMiB, put, get };
  });
  const concurrentUploads = await withFreshProxy(rig, config, async (proxy, http) => {
    const peak = await peakDuring(rig, proxy.pid, keys.length * config.manyUploadBytes, () =>
      Promise.all(keys.map((k) => http.put(rig.bucket, k, config.manyUploadBytes))),
    );
    log(
      `memory: ${keys.length} × ${config.manyUploadBytes / MIB} MiB concurrent PUTs peak RSS ` +
        `${peak.peakRssMiB.toFixed(0)} MiB`,
    );
    for (const k of keys) await http.delete(rig.bucket, k);
    return peak;
  });

  return {
    idleRssMiB: huge.idleRssMiB,
    hugeBytes: size,
    hugePut: huge.put,
    hugeGet: huge.get,
    uploads: keys.length,
    uploadBytes: config.manyUploadBytes,
    concurrentUploads,
  };
}

/** Starts a proxy like the rig's (same MinIO, pinned like it), runs `use`, stops it. */
async function withFreshProxy<T>(
  rig: Rig,
  config: BenchConfig,
  use: (proxy: ProxyProcess, http: S3Http) => Promise<T>,
): Promise<T> {
  const proxy = await startProxyProcess({
    main: config.proxyMain,
    minio: rig.minio,
    logPath: path.join(config.outDir, 'proxy-memory.log'),
    logLevel: config.proxyLogLevel,
    env: rig.proxyEnv,
  });
  const http = new S3Http(proxy.url, rig.minio, rig.minio.region);
  try {
    await pinProcess(proxy.pid, rig.layout.proxyCpus);
    return await use(proxy, http);
  } finally {
    await http.close();
    await proxy.stop();
  }
}

async function peakDuring(
  rig: Rig,
  pid: number,
  bytes: number,
  step: () => Promise<unknown>,
): Promise<PeakFigure> {
  const sampler = new PeakSampler(pid);
  let peakRssMiB: number;
  let seconds: number;
  try {
    ({ seconds } = await timed(rig, bytes, step));
  } finally {
    peakRssMiB = sampler.stop();
  }
  return { peakRssMiB, seconds, mibPerSecond: bytes / MIB / seconds };
}
