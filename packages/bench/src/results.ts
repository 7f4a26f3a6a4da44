// The results file: the headline keys of issue 7 (ratios are s3seal ÷ direct, higher is better
// for throughput), derived from the raw figures every phase returns, plus where they come from.
import type { LayoutName } from './affinity.js';
import type { Machine } from './machine.js';
import type { CryptoResult } from './phases/crypto.js';
import type { LargeResult, LayoutFigures } from './phases/large-objects.js';
import type { MemoryResult } from './phases/memory.js';
import type { MultipartResult } from './phases/multipart.js';
import type { RangeResult } from './phases/range-get.js';
import type { SmallCell, SmallResult } from './phases/small-objects.js';
import { ratio, round3 } from './stats.js';
import { KIB } from './units.js';
import type { WarpBenchmark } from './warp.js';

export interface RawResults {
  large?: LargeResult;
  range?: RangeResult;
  multipart?: MultipartResult;
  small?: SmallResult;
  crypto?: CryptoResult;
  memory?: MemoryResult;
}

export interface HeadlineFigures {
  readonly put_1g_ratio: number | null;
  readonly get_1g_ratio: number | null;
  readonly put_1g_par8_ratio: number | null;
  readonly get_1g_par8_ratio: number | null;
  readonly proxy_cpu_s_per_gib_put: number | null;
  readonly proxy_cpu_s_per_gib_get: number | null;
  readonly small_put_ops_ratio: number | null;
  readonly small_get_ops_ratio: number | null;
  readonly small_get_p50_added_ms: number | null;
  readonly range_get_ratio: number | null;
  readonly mpu_1g_ratio: number | null;
  readonly crypto_vs_openssl: number | null;
  readonly peak_rss_mib_5g: number | null;
  readonly peak_rss_mib_64x64m: number | null;
}

export interface Results extends HeadlineFigures {
  readonly schema: 1;
  readonly mode: 'full' | 'quick';
  readonly date: string;
  /** Measured runs per figure (after one warm-up). */
  readonly runs: number;
  readonly command: string;
  readonly machine: Machine;
  /** How the run was set up: the proxy build and options, and the sizes. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Which measurement each headline key is (a key → a sentence). */
  readonly definitions: Readonly<Record<keyof HeadlineFigures, string>>;
  /** Why a key is null, or what to keep in mind reading it. */
  readonly notes: readonly string[];
  readonly errors: Readonly<Record<string, string>>;
  readonly raw: RawResults;
}

export const DEFINITIONS: Readonly<Record<keyof HeadlineFigures, string>> = {
  put_1g_ratio: 'PUT of a 1 GiB object in one stream, MiB/s s3seal ÷ direct (proxy pinned to its own core)',
  get_1g_ratio: 'GET of the 1 GiB object in one stream, s3seal ÷ direct (pinned)',
  put_1g_par8_ratio: '1 GiB in 8 parallel PUT streams (8 objects of 128 MiB), s3seal ÷ direct (pinned)',
  get_1g_par8_ratio:
    '1 GiB in 8 parallel ranged GET streams of 128 MiB of the object, s3seal ÷ direct (pinned)',
  proxy_cpu_s_per_gib_put: 'proxy CPU seconds (user+sys, /proc) per GiB of the single-stream PUT (pinned)',
  proxy_cpu_s_per_gib_get: 'proxy CPU seconds per GiB of the single-stream GET (pinned)',
  small_put_ops_ratio: 'warp PUT of 4 KiB objects at concurrency 32, ops/s s3seal ÷ direct (pinned)',
  small_get_ops_ratio: 'warp GET of 4 KiB objects at concurrency 32, ops/s s3seal ÷ direct (pinned)',
  small_get_p50_added_ms: 'warp GET of 4 KiB objects at concurrency 1: p50 latency s3seal − direct, in ms',
  range_get_ratio: 'GET of 1 MiB from the middle of the 1 GiB object: median latency direct ÷ s3seal',
  mpu_1g_ratio: 'multipart upload of 1 GiB (8 MiB parts, 4 at a time, lib-storage), MiB/s s3seal ÷ direct',
  crypto_vs_openssl:
    'core EncryptStream/DecryptStream on one core ÷ openssl speed -evp aes-256-gcm, at the default 64 KiB chunk (the lower of encrypt and decrypt)',
  peak_rss_mib_5g: 'peak RSS of the proxy (MiB) while it streams a 5 GiB object in (PUT) and out (GET)',
  peak_rss_mib_64x64m: 'peak RSS of the proxy (MiB) during 64 concurrent 64 MiB PUTs',
};

export function headline(raw: RawResults): HeadlineFigures {
  const large = preferredLayout(raw.large);
  const throughputRatio = (f: keyof LayoutFigures): number | null =>
    large ? ratio(large[f].s3seal.mibPerSecond, large[f].direct.mibPerSecond) : null;
  const small = (benchmark: WarpBenchmark, concurrency: number): Record<string, SmallCell> | undefined => {
    const cells = raw.small?.cells.filter(
      (c) => c.benchmark === benchmark && c.objectBytes === 4 * KIB && c.concurrency === concurrency,
    );
    return cells && cells.length === 2 ? Object.fromEntries(cells.map((c) => [c.target, c])) : undefined;
  };
  const smallPut = small('put', 32);
  const smallGet = small('get', 32);
  const smallGet1 = small('get', 1);
  const mpu = raw.multipart?.targets;
  const cryptoDefault = raw.crypto?.chunks.find((c) => c.chunkSize === 64 * KIB);
  const memory = raw.memory;
  const figures: HeadlineFigures = {
    put_1g_ratio: throughputRatio('put'),
    get_1g_ratio: throughputRatio('get'),
    put_1g_par8_ratio: throughputRatio('putParallel'),
    get_1g_par8_ratio: throughputRatio('getParallel'),
    proxy_cpu_s_per_gib_put: large?.put.s3seal.proxyCpuSecondsPerGiB ?? null,
    proxy_cpu_s_per_gib_get: large?.get.s3seal.proxyCpuSecondsPerGiB ?? null,
    small_put_ops_ratio: smallPut
      ? ratio(smallPut['s3seal']!.opsPerSecond, smallPut['direct']!.opsPerSecond)
      : null,
    small_get_ops_ratio: smallGet
      ? ratio(smallGet['s3seal']!.opsPerSecond, smallGet['direct']!.opsPerSecond)
      : null,
    small_get_p50_added_ms: smallGet1 ? smallGet1['s3seal']!.p50Ms - smallGet1['direct']!.p50Ms : null,
    range_get_ratio: raw.range
      ? ratio(raw.range.targets.direct.latencyMs, raw.range.targets.s3seal.latencyMs)
      : null,
    mpu_1g_ratio:
      mpu?.s3seal.upload && mpu.direct.upload
        ? ratio(mpu.s3seal.upload.mibPerSecond, mpu.direct.upload.mibPerSecond)
        : null,
    crypto_vs_openssl: cryptoDefault
      ? Math.min(
          cryptoDefault.encryptMiBPerSecond / cryptoDefault.opensslEncryptMiBPerSecond,
          cryptoDefault.decryptMiBPerSecond / cryptoDefault.opensslDecryptMiBPerSecond,
        )
      : null,
    peak_rss_mib_5g: memory ? Math.max(memory.hugePut.peakRssMiB, memory.hugeGet.peakRssMiB) : null,
    peak_rss_mib_64x64m: memory ? memory.concurrentUploads.peakRssMiB : null,
  };
  return Object.fromEntries(
    Object.entries(figures).map(([k, v]) => [k, round3(v as number | null)]),
  ) as unknown as HeadlineFigures;
}

/** The pinned figures when there are (the targets are for the proxy on its own core). */
export function preferredLayout(large: LargeResult | undefined): LayoutFigures | undefined {
  const order: LayoutName[] = ['pinned', 'unpinned'];
  for (const name of order) if (large?.layouts[name]) return large.layouts[name];
  return undefined;
}

/** Notes that follow from the raw figures: why a key is null, and the load generator check. */
export function notesFor(raw: RawResults): string[] {
  const notes: string[] = [];
  const s3sealMpu = raw.multipart?.targets.s3seal;
  if (s3sealMpu && s3sealMpu.upload === null) notes.push(`mpu_1g_ratio is null: ${s3sealMpu.reason}`);
  if (raw.large && !raw.large.layouts.pinned) notes.push('fewer than 2 CPUs: nothing was pinned');
  return notes;
}
