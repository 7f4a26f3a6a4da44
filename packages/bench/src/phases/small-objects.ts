// Small-object operations with warp: PUT, GET, HEAD (warp's "stat") and LIST of a 1000-key prefix,
// at 4 KiB and 1 MiB, concurrency 1 and 32, direct and through s3seal, pinned.
// One warp run per cell lasts 1 + runs windows; the first window is the warm-up and the figure is
// the median of the other windows' ops/s. LIST is run with 4 KiB objects only: a listing does not
// carry the objects, and preparing 1000 × 1 MiB per run would only cost time.
import path from 'node:path';
import type { BenchConfig } from '../config.js';
import { CpuTrace } from '../cpu-trace.js';
import type { Rig, TargetName } from '../rig.js';
import { median } from '../stats.js';
import { KIB, sizeLabel } from '../units.js';
import { assertWarp, runWarp, WARP_OP, warpVersion } from '../warp.js';
import type { WarpBenchmark } from '../warp.js';
import { windowed } from '../warp-log.js';

const BENCHMARKS: readonly WarpBenchmark[] = ['put', 'get', 'stat', 'list'];

export interface SmallCell {
  readonly benchmark: WarpBenchmark;
  readonly objectBytes: number;
  readonly concurrency: number;
  readonly target: TargetName;
  readonly opsPerSecond: number;
  readonly samplesOpsPerSecond: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly operations: number;
  readonly errors: number;
  /** CPU seconds per second during the measured windows; warp's near 1 would make it the bottleneck. */
  readonly warpCpuShare: number | null;
  readonly proxyCpuShare: number | null;
  readonly minioCpuShare: number | null;
}

export interface SmallResult {
  readonly loadGenerator: string;
  readonly windowSeconds: number;
  readonly windows: number;
  readonly listKeys: number;
  readonly preparedObjects: number;
  readonly cells: readonly SmallCell[];
}

export async function runSmall(
  rig: Rig,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<SmallResult> {
  assertWarp(config.warpBinary);
  await rig.useLayout('pinned');
  const credentials = { accessKeyId: rig.minio.accessKeyId, secretAccessKey: rig.minio.secretAccessKey };
  const cells: SmallCell[] = [];
  let runIndex = 0;
  for (const benchmark of BENCHMARKS) {
    const sizes = benchmark === 'list' ? [4 * KIB] : config.smallSizes;
    for (const objectBytes of sizes) {
      for (const concurrency of config.smallConcurrency) {
        for (const target of rig.ordered(runIndex++)) {
          const name = `${benchmark}-${sizeLabel(objectBytes).toLowerCase()}-c${concurrency}-${target.name}`;
          const trace = new CpuTrace([rig.proxy.pid, rig.minioPid]);
          let warpPid: number | undefined;
          let ops;
          try {
            ops = await runWarp({
              binary: config.warpBinary,
              benchmark,
              endpoint: target.endpoint,
              credentials,
              region: rig.minio.region,
              bucket: `warp-${name}`,
              objectBytes,
              concurrency,
              objects:
                benchmark === 'list'
                  ? config.listKeys
                  : benchmark === 'put'
                    ? undefined
                    : config.smallObjects,
              // A second past the last window, so its last operations complete inside the run.
              durationSeconds: (config.runs + 1) * config.smallWindowSeconds + 1,
              cpus: rig.layout.restCpus,
              benchdata: path.join(config.outDir, 'warp', name),
              logPath: path.join(config.outDir, 'warp', `${name}.log`),
              onStart: (pid) => {
                warpPid = pid;
                trace.add(pid);
              },
            });
          } finally {
            trace.stop();
          }
          const w = windowed(ops, WARP_OP[benchmark], config.runs, config.smallWindowSeconds * 1000);
          const from = w.windowStartsMs[0]!;
          const to = from + config.runs * w.windowMs;
          const cell: SmallCell = {
            benchmark,
            objectBytes,
            concurrency,
            target: target.name,
            opsPerSecond: median(w.opsPerSecond),
            samplesOpsPerSecond: w.opsPerSecond,
            p50Ms: w.p50Ms,
            p99Ms: w.p99Ms,
            operations: w.operations,
            errors: w.errors,
            warpCpuShare: warpPid === undefined ? null : trace.share(warpPid, from, to),
            proxyCpuShare: trace.share(rig.proxy.pid, from, to),
            minioCpuShare: trace.share(rig.minioPid, from, to),
          };
          if (cell.errors > 0)
            log(`small ${name}: ${cell.errors} failed operations (see bench/out/warp/${name}.log)`);
          log(
            `small ${name}: ${cell.opsPerSecond.toFixed(0)} ops/s, p50 ${cell.p50Ms.toFixed(2)} ms, ` +
              `p99 ${cell.p99Ms.toFixed(2)} ms, warp CPU ${(cell.warpCpuShare ?? NaN).toFixed(2)}`,
          );
          cells.push(cell);
        }
      }
    }
  }
  return {
    loadGenerator: await warpVersion(config.warpBinary),
    windowSeconds: config.smallWindowSeconds,
    windows: config.runs,
    listKeys: config.listKeys,
    preparedObjects: config.smallObjects,
    cells,
  };
}
