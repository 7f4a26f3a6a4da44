// Runs MinIO's warp (built by `scripts/test-deps.sh warp`) for one benchmark against one endpoint
// and returns its per-operation log.
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { tasksetPrefix } from './affinity.js';
import type { S3Credentials } from './s3-http.js';
import { readWarpLog } from './warp-log.js';
import type { WarpOp } from './warp-log.js';

export type WarpBenchmark = 'put' | 'get' | 'stat' | 'list';

/** The op name each benchmark logs for the operation it measures (the others are its preparation). */
export const WARP_OP: Readonly<Record<WarpBenchmark, string>> = {
  put: 'PUT',
  get: 'GET',
  stat: 'STAT',
  list: 'LIST',
};

export interface WarpRunOptions {
  readonly binary: string;
  readonly benchmark: WarpBenchmark;
  /** http://host:port */
  readonly endpoint: string;
  readonly credentials: S3Credentials;
  readonly region: string;
  /** warp deletes everything in it before and after: one fresh bucket per run. */
  readonly bucket: string;
  readonly objectBytes: number;
  readonly concurrency: number;
  /** Objects to prepare (get, stat) or to list (list). */
  readonly objects?: number;
  readonly durationSeconds: number;
  readonly cpus: string;
  /** The op log is written to `<benchdata>.csv.zst`. */
  readonly benchdata: string;
  readonly logPath: string;
  readonly onStart?: (pid: number) => void;
}

export function assertWarp(binary: string): void {
  if (!existsSync(binary)) {
    throw new Error(`warp not found at ${binary}: run \`bash scripts/test-deps.sh warp\` (make bench does)`);
  }
}

export async function warpVersion(binary: string): Promise<string> {
  const { stdout } = await promisify(execFile)(binary, ['--version']);
  return stdout.trim();
}

export async function runWarp(o: WarpRunOptions): Promise<WarpOp[]> {
  const args = [
    o.benchmark,
    '--no-color',
    `--host=${new URL(o.endpoint).host}`,
    `--access-key=${o.credentials.accessKeyId}`,
    `--secret-key=${o.credentials.secretAccessKey}`,
    `--region=${o.region}`,
    `--bucket=${o.bucket}`,
    `--obj.size=${o.objectBytes}`,
    `--concurrent=${o.concurrency}`,
    `--duration=${o.durationSeconds}s`,
    `--benchdata=${o.benchdata}`,
    '--disable-multipart',
  ];
  if (o.objects !== undefined) args.push(`--objects=${o.objects}`);
  // All objects in one prefix, so each LIST walks the whole 1000-key listing.
  if (o.benchmark === 'list') args.push('--noprefix');
  const pin = tasksetPrefix(o.cpus);
  const logFd = openSync(o.logPath, 'a');
  try {
    const child = spawn(pin[0]!, [...pin.slice(1), o.binary, ...args], { stdio: ['ignore', logFd, logFd] });
    if (child.pid !== undefined) o.onStart?.(child.pid);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`warp ${o.benchmark} exited with ${code}; see ${o.logPath}`);
  } finally {
    closeSync(logFd);
  }
  return readWarpLog(`${o.benchdata}.csv.zst`);
}
