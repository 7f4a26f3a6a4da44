// One timed step and what each process spent on it; and the warm-up-then-median run loop.
import { cpuSeconds, cpuSplit, ownCpuSeconds } from './proc-stats.js';
import type { Rig } from './rig.js';
import { median } from './stats.js';
import { MIB, GIB } from './units.js';

export interface Sample {
  readonly seconds: number;
  readonly bytes: number;
  /** CPU seconds of the proxy process during the step (near 0 for direct). */
  readonly proxyCpuSeconds: number;
  /** The part of proxyCpuSeconds spent in the kernel (system time). */
  readonly proxyKernelCpuSeconds: number;
  readonly minioCpuSeconds: number;
  /** CPU seconds of this process, the load generator. */
  readonly loadgenCpuSeconds: number;
}

/** Runs `step`, which moves `bytes` of object data, and samples CPU of every process around it. */
export async function timed(rig: Rig, bytes: number, step: () => Promise<unknown>): Promise<Sample> {
  const proxy0 = cpuSplit(rig.proxy.pid);
  const minio0 = cpuSeconds(rig.minioPid);
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  await step();
  const seconds = (performance.now() - t0) / 1000;
  const proxy1 = cpuSplit(rig.proxy.pid);
  return {
    seconds,
    bytes,
    proxyCpuSeconds: proxy1.user + proxy1.system - (proxy0.user + proxy0.system),
    proxyKernelCpuSeconds: proxy1.system - proxy0.system,
    minioCpuSeconds: cpuSeconds(rig.minioPid) - minio0,
    loadgenCpuSeconds: ownCpuSeconds() - own0,
  };
}

/** Calls `run(-1)` as a warm-up (its result dropped), then `run(0..runs-1)`. */
export async function repeat<T>(runs: number, run: (index: number) => Promise<T>): Promise<T[]> {
  await run(-1);
  const out: T[] = [];
  for (let i = 0; i < runs; i++) out.push(await run(i));
  return out;
}

/** The medians the results file keeps for a throughput figure. */
export interface Throughput {
  readonly mibPerSecond: number;
  readonly seconds: number;
  readonly proxyCpuSecondsPerGiB: number;
  /** Of which in the kernel (system time). */
  readonly proxyKernelCpuSecondsPerGiB: number;
  readonly minioCpuSecondsPerGiB: number;
  /** Load generator CPU ÷ wall time: near 1 would mean it, not the server, set the pace. */
  readonly loadgenCpuShare: number;
  /** Proxy CPU ÷ wall time: near 1 when pinned means the proxy's core is what limits s3seal. */
  readonly proxyCpuShare: number;
  readonly minioCpuShare: number;
  readonly samplesMiBPerSecond: readonly number[];
}

export function throughput(samples: readonly Sample[]): Throughput {
  const perGiB = (f: (s: Sample) => number): number => median(samples.map((s) => f(s) / (s.bytes / GIB)));
  const rates = samples.map((s) => s.bytes / MIB / s.seconds);
  return {
    mibPerSecond: median(rates),
    seconds: median(samples.map((s) => s.seconds)),
    proxyCpuSecondsPerGiB: perGiB((s) => s.proxyCpuSeconds),
    proxyKernelCpuSecondsPerGiB: perGiB((s) => s.proxyKernelCpuSeconds),
    minioCpuSecondsPerGiB: perGiB((s) => s.minioCpuSeconds),
    loadgenCpuShare: median(samples.map((s) => s.loadgenCpuSeconds / s.seconds)),
    proxyCpuShare: median(samples.map((s) => s.proxyCpuSeconds / s.seconds)),
    minioCpuShare: median(samples.map((s) => s.minioCpuSeconds / s.seconds)),
    samplesMiBPerSecond: rates,
  };
}
