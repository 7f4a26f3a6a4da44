// What `make bench` (full) and `make bench-quick` measure, and where results go.
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GIB, KIB, MIB } from './units.js';

export const PHASES = ['crypto', 'large', 'range', 'multipart', 'small', 'memory'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BenchConfig {
  readonly mode: 'full' | 'quick';
  /** Measured runs of each figure, after one warm-up run; the figure is their median. */
  readonly runs: number;
  readonly phases: ReadonlySet<PhaseName>;
  /** The "1 GiB object" of the issue. */
  readonly largeBytes: number;
  /** 8 parallel streams move largeBytes in total: largeBytes / streams each. */
  readonly parallelStreams: number;
  readonly rangeBytes: number;
  /** Ranged GETs per run; a run's figure is their median latency. */
  readonly rangeRequests: number;
  readonly multipartBytes: number;
  readonly multipartPartBytes: number;
  readonly multipartQueue: number;
  readonly smallSizes: readonly number[];
  readonly smallConcurrency: readonly number[];
  readonly listKeys: number;
  /** Objects warp prepares for GET and HEAD. */
  readonly smallObjects: number;
  /** warp runs (1 + runs) windows of this length; the first is the warm-up. */
  readonly smallWindowSeconds: number;
  readonly hugeBytes: number;
  readonly manyUploads: number;
  readonly manyUploadBytes: number;
  /** Plaintext sealed per crypto run (in passes over a buffer of cryptoBufferBytes). */
  readonly cryptoBytes: number;
  readonly cryptoBufferBytes: number;
  readonly cryptoChunkSizes: readonly number[];
  readonly proxyLogLevel: string;
  /** The proxy entry point to benchmark (default: this checkout's packages/proxy/dist/main.js). */
  readonly proxyMain: string;
  /** Extra proxy options (--proxy-env S3SEAL_CHUNK_SIZE=1048576), e.g. to measure another chunk size. */
  readonly proxyEnv: Readonly<Record<string, string>>;
  /** What the proxy process inherits from this one (it gets nothing else from our environment). */
  readonly inheritedEnv: Readonly<Record<string, string>>;
  readonly warpBinary: string;
  readonly resultsPath: string;
  readonly outDir: string;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const FULL = {
  runs: 3,
  largeBytes: GIB,
  rangeRequests: 20,
  multipartBytes: GIB,
  smallObjects: 200,
  listKeys: 1000,
  smallWindowSeconds: 2,
  hugeBytes: 5 * GIB,
  manyUploadBytes: 64 * MIB,
  cryptoBytes: GIB,
  cryptoBufferBytes: 64 * MIB,
};

/** Tiny sizes and one run: checks that every phase works, in about two minutes. Figures are noise. */
const QUICK: typeof FULL = {
  runs: 1,
  largeBytes: 32 * MIB,
  rangeRequests: 5,
  multipartBytes: 32 * MIB,
  smallObjects: 32,
  listKeys: 100,
  smallWindowSeconds: 1,
  hugeBytes: 256 * MIB,
  manyUploadBytes: 1 * MIB,
  cryptoBytes: 64 * MIB,
  cryptoBufferBytes: 16 * MIB,
};

export function loadBenchConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'proxy-log-level': { type: 'string', default: 'info' },
      'proxy-main': { type: 'string' },
      'proxy-env': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const mode = values.quick ? 'quick' : 'full';
  const sizes = mode === 'quick' ? QUICK : FULL;
  const runs = values.runs === undefined ? sizes.runs : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive integer, not ${values.runs}`);
  const phases = values.only === undefined ? [...PHASES] : values.only.split(',').map((p) => p.trim());
  for (const phase of phases) {
    if (!(PHASES as readonly string[]).includes(phase)) {
      throw new Error(`unknown phase ${phase} in --only (phases: ${PHASES.join(', ')})`);
    }
  }
  const proxyEnv: Record<string, string> = {};
  for (const pair of values['proxy-env']) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--proxy-env takes NAME=VALUE, not ${pair}`);
    proxyEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const outDir = path.join(REPO_ROOT, 'bench', 'out');
  const cacheDir =
    env['S3SEAL_CACHE_DIR'] || path.join(env['XDG_CACHE_HOME'] || path.join(homedir(), '.cache'), 's3seal');
  return {
    ...sizes,
    mode,
    runs,
    phases: new Set(phases as PhaseName[]),
    parallelStreams: 8,
    rangeBytes: MIB,
    multipartPartBytes: 8 * MIB,
    multipartQueue: 4,
    smallSizes: [4 * KIB, MIB],
    smallConcurrency: [1, 32],
    manyUploads: 64,
    cryptoChunkSizes: [64 * KIB, MIB],
    proxyLogLevel: values['proxy-log-level'],
    proxyMain: path.resolve(values['proxy-main'] ?? path.join(REPO_ROOT, 'packages/proxy/dist/main.js')),
    proxyEnv,
    inheritedEnv: { PATH: env['PATH'] ?? '', HOME: env['HOME'] ?? '' },
    warpBinary: env['S3SEAL_WARP'] || path.resolve(REPO_ROOT, cacheDir, 'bin', 'warp'),
    resultsPath: values.out
      ? path.resolve(values.out)
      : mode === 'quick'
        ? path.join(outDir, 'results.quick.json')
        : path.join(REPO_ROOT, 'bench', 'results.json'),
    outDir,
  };
}
