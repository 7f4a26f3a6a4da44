// CPU pinning with taskset(1): the proxy on one core, MinIO and the load generator on the other,
// so the proxy's own CPU shows as a cost rather than as contention (issue 7).
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type LayoutName = 'pinned' | 'unpinned';

export interface CpuLayout {
  readonly name: LayoutName;
  /** taskset CPU list for the proxy. */
  readonly proxyCpus: string;
  /** taskset CPU list for MinIO and the load generator (this process, warp). */
  readonly restCpus: string;
}

/**
 * Online CPUs of the machine. Not availableParallelism(): that is this process's affinity, which
 * shrinks to one core once the pinned layout has been applied to it.
 */
export function machineCpus(): number {
  return cpus().length;
}

export function cpuLayout(name: LayoutName): CpuLayout {
  const last = machineCpus() - 1;
  if (name === 'pinned') return { name, proxyCpus: '0', restCpus: `1-${last}` };
  return { name, proxyCpus: `0-${last}`, restCpus: `0-${last}` };
}

/** Pinning needs a core for the proxy and at least one for the rest. */
export function canPin(): boolean {
  return machineCpus() >= 2;
}

/** Moves every thread of a running process (-a) onto `cpus`; threads it starts later inherit it. */
export async function pinProcess(pid: number, cpus: string): Promise<void> {
  await run('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
}

export interface PinnedPids {
  readonly proxy: number;
  readonly minio: number;
  readonly valkey: number | undefined;
}

/** Applies a layout to the proxy, the backends and this process (the load generator). */
export async function applyLayout(layout: CpuLayout, pids: PinnedPids): Promise<void> {
  await pinProcess(pids.proxy, layout.proxyCpus);
  await pinProcess(pids.minio, layout.restCpus);
  if (pids.valkey !== undefined) await pinProcess(pids.valkey, layout.restCpus);
  await pinProcess(process.pid, layout.restCpus);
}

/** argv prefix that starts a program on the load generator's CPUs. */
export function tasksetPrefix(cpus: string): string[] {
  return ['taskset', '-c', cpus];
}
