// A ranged GET of 1 MiB from the middle of the large object. The start is deliberately not on a
// chunk boundary, so the proxy pays its real over-read (one extra chunk at most each side).
import type { BenchConfig } from '../config.js';
import { repeat } from '../measure.js';
import type { Rig, TargetName } from '../rig.js';
import { median } from '../stats.js';
import { MIB } from '../units.js';
import { expectBytes, largeKey } from './large-objects.js';

export interface RangeTargetResult {
  /** Median over runs of each run's median latency. */
  readonly latencyMs: number;
  readonly mibPerSecond: number;
  readonly samplesMs: readonly number[];
}

export interface RangeResult {
  readonly objectBytes: number;
  readonly start: number;
  readonly length: number;
  readonly requestsPerRun: number;
  readonly targets: Record<TargetName, RangeTargetResult>;
}

export async function runRange(
  rig: Rig,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<RangeResult> {
  await rig.useLayout('pinned');
  const size = config.largeBytes;
  for (const target of Object.values(rig.targets)) {
    const key = largeKey(target.name);
    if ((await target.http.size(rig.bucket, key)) !== size) await target.http.put(rig.bucket, key, size);
  }
  const length = config.rangeBytes;
  const start = Math.floor(size / 2) + 1000;
  const header = `bytes=${start}-${start + length - 1}`;
  const perRun: Record<TargetName, number[]> = { direct: [], s3seal: [] };
  await repeat(config.runs, async (run) => {
    for (const target of rig.ordered(run)) {
      const latencies: number[] = [];
      for (let i = 0; i < config.rangeRequests; i++) {
        const t0 = performance.now();
        expectBytes(await target.http.get(rig.bucket, largeKey(target.name), header), length);
        latencies.push(performance.now() - t0);
      }
      if (run < 0) continue;
      perRun[target.name].push(median(latencies));
      log(`range run ${run + 1} ${target.name}: median ${median(latencies).toFixed(2)} ms`);
    }
  });
  const result = (name: TargetName): RangeTargetResult => {
    const latencyMs = median(perRun[name]);
    return { latencyMs, mibPerSecond: length / MIB / (latencyMs / 1000), samplesMs: perRun[name] };
  };
  return {
    objectBytes: size,
    start,
    length,
    requestsPerRun: config.rangeRequests,
    targets: { direct: result('direct'), s3seal: result('s3seal') },
  };
}
