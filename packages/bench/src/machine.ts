// What the figures were measured on.
import { execFile } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { machineCpus } from './affinity.js';
import { promisify } from 'node:util';
import { GIB } from './units.js';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly openssl: string;
  readonly minio: string;
  readonly warp: string;
}

export async function describeMachine(minioBinary: string | undefined, warpBinary: string): Promise<Machine> {
  return {
    cores: machineCpus(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / GIB),
    kernel: `Linux ${release()}`,
    node: process.version,
    openssl: await firstLine('openssl', ['version']),
    minio: minioBinary === undefined ? 'not run' : await firstLine(minioBinary, ['--version']),
    warp: await firstLine(warpBinary, ['--version']),
  };
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args);
    return stdout.split('\n')[0]!.trim();
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'not installed';
    throw err;
  }
}
