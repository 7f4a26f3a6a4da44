// warp's per-operation log (--benchdata, a zstd-compressed TSV) turned into windows of ops/s and
// latency percentiles with microsecond precision (warp's own summary rounds to milliseconds).
import { readFile } from 'node:fs/promises';
import { zstdDecompressSync } from 'node:zlib';
import { percentile } from './stats.js';

export interface WarpOp {
  readonly op: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
  readonly isError: boolean;
}

export async function readWarpLog(file: string): Promise<WarpOp[]> {
  return parseWarpLog(zstdDecompressSync(await readFile(file)).toString('utf8'));
}

/** Columns: idx thread op client_id n_objects bytes endpoint file error start first_byte end duration_ns. */
export function parseWarpLog(text: string): WarpOp[] {
  const lines = text.split('\n');
  const header = (lines[0] ?? '').split('\t');
  const col = (name: string): number => {
    const at = header.indexOf(name);
    if (at < 0) throw new Error(`warp log has no ${name} column (header: ${lines[0]})`);
    return at;
  };
  const [op, error, start, end, duration] = ['op', 'error', 'start', 'end', 'duration_ns'].map(col) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const out: WarpOp[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // warp appends its command line as a '#' comment.
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split('\t');
    out.push({
      op: f[op]!,
      startMs: epochMs(f[start]!),
      endMs: epochMs(f[end]!),
      durationMs: Number(f[duration]) / 1e6,
      isError: f[error] !== '',
    });
  }
  return out;
}

/** "2026-11-22T05:26:46.201040446Z" → epoch milliseconds, keeping the sub-millisecond digits. */
export function epochMs(iso: string): number {
  const dot = iso.indexOf('.');
  if (dot < 0) return Date.parse(iso);
  const fraction = iso.slice(dot + 1, iso.length - 1);
  return Date.parse(`${iso.slice(0, dot)}Z`) + Number(`0.${fraction}`) * 1000;
}

export interface WindowedFigures {
  /** Completed operations per second in each measured window (the warm-up window excluded). */
  readonly opsPerSecond: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly operations: number;
  readonly errors: number;
  readonly windowStartsMs: readonly number[];
  readonly windowMs: number;
}

/**
 * Splits the ops of one type into `1 + windows` windows of `windowMs` from the first start; the
 * first is the warm-up. Latencies are pooled over the ops that started in measured windows.
 */
export function windowed(
  ops: readonly WarpOp[],
  type: string,
  windows: number,
  windowMs: number,
): WindowedFigures {
  const mine = ops.filter((o) => o.op === type);
  const ok = mine.filter((o) => !o.isError);
  if (ok.length === 0) throw new Error(`warp logged no successful ${type} operation (${mine.length} failed)`);
  const t0 = ok.reduce((min, o) => Math.min(min, o.startMs), Infinity);
  const windowStartsMs = Array.from({ length: windows }, (_, i) => t0 + (i + 1) * windowMs);
  const opsPerSecond = windowStartsMs.map(
    (from) => ok.filter((o) => o.endMs >= from && o.endMs < from + windowMs).length / (windowMs / 1000),
  );
  const measuredFrom = t0 + windowMs;
  const measuredTo = t0 + (windows + 1) * windowMs;
  const latencies = ok
    .filter((o) => o.startMs >= measuredFrom && o.endMs < measuredTo)
    .map((o) => o.durationMs);
  return {
    opsPerSecond,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    operations: latencies.length,
    errors: mine.filter((o) => o.isError && o.startMs >= measuredFrom && o.endMs < measuredTo).length,
    windowStartsMs,
    windowMs,
  };
}
