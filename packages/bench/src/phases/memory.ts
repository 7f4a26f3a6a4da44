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
import { freePort } from '@s3seal/testkit';
import { MIB } from '../units.js';
import { expectBytes } from './large-objects.js';

export interface PeakFigure {
  readonly peakRssMiB: number;
  readonly seconds: number;
  readonly mibPerSecond: number;
  /**
   * What V8 reported at the same time, from the proxy's own /metrics (prom-client's default
   * Node metrics), maxima over the load: memory outside V8's heap (Buffers) and heap in use.
   * Large external memory with a small heap means Buffers waiting for a collection, not data
   * the proxy holds on to.
   */
  readonly peakExternalMiB?: number | undefined;
  readonly peakHeapUsedMiB?: number | undefined;
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
    const put = await peakDuring(rig, proxy, size, () => http.put(rig.bucket, key, size));
    log(
      `memory: ${size / MIB} MiB PUT peak RSS ${put.peakRssMiB.toFixed(0)} MiB (idle ${idleRssMiB.toFixed(0)} MiB)`,
    );
    const get = await peakDuring(rig, proxy, size, async () =>
      expectBytes(await http.get(rig.bucket, key), size),
    );
    log(`memory: ${size / MIB} MiB GET peak RSS ${get.peakRssMiB.toFixed(0)} MiB`);
    await http.delete(rig.bucket, key);
    return { idleRssMiB, put, get };
  });
  const concurrentUploads = await withFreshProxy(rig, config, async (proxy, http) => {
    const peak = await peakDuring(rig, proxy, keys.length * config.manyUploadBytes, () =>
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
  use: (proxy: MeteredProxy, http: S3Http) => Promise<T>,
): Promise<T> {
  const metricsPort = await freePort();
  const started = await startProxyProcess({
    main: config.proxyMain,
    minio: rig.minio,
    logPath: path.join(config.outDir, 'proxy-memory.log'),
    logLevel: config.proxyLogLevel,
    env: { ...rig.proxyEnv, S3SEAL_METRICS_LISTEN: `127.0.0.1:${metricsPort}` },
  });
  const proxy: MeteredProxy = Object.assign(started, {
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
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

type MeteredProxy = ProxyProcess & { readonly metricsUrl: string };

async function peakDuring(
  rig: Rig,
  proxy: MeteredProxy,
  bytes: number,
  step: () => Promise<unknown>,
): Promise<PeakFigure> {
  const sampler = new PeakSampler(proxy.pid);
  const v8 = new V8MemorySampler(proxy.metricsUrl);
  let peakRssMiB: number;
  let seconds: number;
  try {
    ({ seconds } = await timed(rig, bytes, step));
  } finally {
    peakRssMiB = sampler.stop();
  }
  const { externalMiB, heapUsedMiB } = await v8.stop();
  return {
    peakRssMiB,
    seconds,
    mibPerSecond: bytes / MIB / seconds,
    peakExternalMiB: externalMiB,
    peakHeapUsedMiB: heapUsedMiB,
  };
}

/** Maxima of V8's external memory and used heap, scraped from the proxy's /metrics every 250 ms. */
class V8MemorySampler {
  private externalMiB: number | undefined;
  private heapUsedMiB: number | undefined;
  private readonly timer: NodeJS.Timeout;
  private scraping: Promise<void> = Promise.resolve();

  constructor(private readonly url: string) {
    this.timer = setInterval(() => {
      this.scraping = this.scrape();
    }, 250);
  }

  async stop(): Promise<{ externalMiB: number | undefined; heapUsedMiB: number | undefined }> {
    clearInterval(this.timer);
    await this.scraping;
    return { externalMiB: this.externalMiB, heapUsedMiB: this.heapUsedMiB };
  }

  private async scrape(): Promise<void> {
    try {
      const text = await (await fetch(this.url, { signal: AbortSignal.timeout(1000) })).text();
      const value = (name: string): number | undefined => {
        const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
        return match ? Number(match[1]) / MIB : undefined;
      };
      const external = value('s3seal_proxy_nodejs_external_memory_bytes');
      const heapUsed = value('s3seal_proxy_nodejs_heap_size_used_bytes');
      if (external !== undefined) this.externalMiB = Math.max(this.externalMiB ?? 0, external);
      if (heapUsed !== undefined) this.heapUsedMiB = Math.max(this.heapUsedMiB ?? 0, heapUsed);
    } catch {
      // A missed sample (the proxy busy past the timeout) only makes the maximum less exact.
    }
  }
}
