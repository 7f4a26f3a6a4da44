// CPU time of several processes sampled over time, so the CPU share of each inside a time window
// (a warp measurement window) can be read afterwards, even when the process has exited since.
import { cpuSeconds } from './proc-stats.js';

interface Point {
  readonly atMs: number;
  readonly cpu: ReadonlyMap<number, number>;
}

export class CpuTrace {
  private readonly points: Point[] = [];
  private readonly timer: NodeJS.Timeout;

  private readonly pids: number[];

  constructor(pids: readonly number[], intervalMs = 200) {
    this.pids = [...pids];
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Starts sampling one more process (a warp run). */
  add(pid: number): void {
    this.pids.push(pid);
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** CPU seconds per second of `pid` between the first and last samples inside [fromMs, toMs]. */
  share(pid: number, fromMs: number, toMs: number): number | null {
    const inside = this.points.filter((p) => p.atMs >= fromMs && p.atMs <= toMs && p.cpu.has(pid));
    if (inside.length < 2) return null;
    const first = inside[0]!;
    const last = inside[inside.length - 1]!;
    return (last.cpu.get(pid)! - first.cpu.get(pid)!) / ((last.atMs - first.atMs) / 1000);
  }

  private sample(): void {
    const cpu = new Map<number, number>();
    for (const pid of this.pids) {
      try {
        cpu.set(pid, cpuSeconds(pid));
      } catch (err: unknown) {
        // The process has exited (warp after its run): nothing more to sample for it.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.points.push({ atMs: nowMs(), cpu });
  }
}

/** Wall-clock milliseconds with sub-millisecond precision (warp's op log is wall-clock too). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
