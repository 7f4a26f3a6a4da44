// CPU time and memory of another process, read from /proc (Linux only).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (100 on every Linux we run on). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User plus system CPU seconds the process (all its threads) has used so far. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

/**
 * User and system (kernel) CPU seconds so far, apart: on loopback the kernel's TCP work (copies,
 * checksums offloaded or not) is charged to the process that sends or receives, so the system
 * part is what no change in the proxy's JavaScript can remove.
 */
export function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5), i.e. 11 and 12 after the name and state.
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

export interface Memory {
  readonly rssMiB: number;
  /** Peak RSS since start or since the last resetPeak(). */
  readonly hwmMiB: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMiB: statusKiB(status, 'VmRSS') / 1024, hwmMiB: statusKiB(status, 'VmHWM') / 1024 };
}

function statusKiB(status: string, field: string): number {
  const at = status.indexOf(`${field}:`);
  if (at < 0) throw new Error(`/proc status has no ${field}`);
  return Number.parseInt(status.slice(at + field.length + 1).trimStart(), 10);
}

/** Resets VmHWM to the current RSS ("5" in clear_refs, Linux ≥ 4.0; see proc(5)). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/**
 * Samples a process's RSS while a phase runs. The peak is the larger of the sampled maximum
 * and VmHWM, so a spike between two samples still counts.
 */
export class PeakSampler {
  private maxRssMiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    resetPeak(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Stops sampling; the peak RSS in MiB since construction. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return Math.max(this.maxRssMiB, memory(this.pid).hwmMiB);
  }

  private sample(): void {
    this.maxRssMiB = Math.max(this.maxRssMiB, memory(this.pid).rssMiB);
  }
}

/** CPU seconds used by this process (all threads) so far: the load generator's own cost. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
