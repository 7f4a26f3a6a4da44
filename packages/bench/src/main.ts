#!/usr/bin/env node
// s3seal-bench: starts MinIO and the proxy, runs the phases, writes the results file.
//   node packages/bench/dist/main.js [--quick] [--runs N] [--only crypto,large,...] [--out FILE]
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary, RigError } from '@s3seal/testkit';
import { loadBenchConfig, PHASES, REPO_ROOT } from './config.js';
import type { BenchConfig, PhaseName } from './config.js';
import { describeMachine } from './machine.js';
import { runCrypto } from './phases/crypto.js';
import { runLarge } from './phases/large-objects.js';
import { runMemory } from './phases/memory.js';
import { runMultipart } from './phases/multipart.js';
import { runRange } from './phases/range-get.js';
import { runSmall } from './phases/small-objects.js';
import { DEFINITIONS, headline, notesFor } from './results.js';
import type { RawResults, Results } from './results.js';
import { startRig } from './rig.js';
import type { Rig } from './rig.js';

type Log = (line: string) => void;

const RIG_PHASES: Record<
  Exclude<PhaseName, 'crypto'>,
  (rig: Rig, c: BenchConfig, log: Log) => Promise<unknown>
> = {
  large: runLarge,
  range: runRange,
  multipart: runMultipart,
  small: runSmall,
  memory: runMemory,
};

async function main(): Promise<void> {
  const config = loadBenchConfig(process.argv.slice(2), process.env);
  mkdirSync(path.join(config.outDir, 'warp'), { recursive: true });
  const logFile = path.join(config.outDir, 'bench.log');
  const started = Date.now();
  const log: Log = (line) => {
    const stamped = `[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`;
    process.stderr.write(`${stamped}\n`);
    appendFileSync(logFile, `${stamped}\n`);
  };
  log(`mode ${config.mode}, ${config.runs} run(s) after a warm-up, phases ${[...config.phases].join(', ')}`);

  // With --only, the other phases keep the figures of the previous run of the same mode.
  const previous = readPrevious(config);
  const raw: RawResults = { ...(previous?.raw ?? {}) };
  const errors: Record<string, string> = {};
  const record = async (phase: PhaseName, run: () => Promise<unknown>): Promise<void> => {
    log(`phase ${phase}`);
    try {
      (raw as Record<string, unknown>)[phase] = await run();
      delete errors[phase];
    } catch (err: unknown) {
      // Keep measuring the other phases; the run still fails at the end.
      errors[phase] = String((err as Error).stack ?? err);
      delete (raw as Record<string, unknown>)[phase];
      log(`phase ${phase} failed: ${errors[phase]}`);
    }
  };

  if (config.phases.has('crypto')) await record('crypto', () => runCrypto(config, log));
  const rigPhases = (Object.keys(RIG_PHASES) as (keyof typeof RIG_PHASES)[]).filter((p) =>
    config.phases.has(p),
  );
  if (rigPhases.length > 0) {
    let rig: Rig | undefined;
    try {
      rig = await startRig(config);
    } catch (err: unknown) {
      for (const phase of rigPhases)
        errors[phase] = `the rig did not start: ${String((err as Error).stack ?? err)}`;
      log(`MinIO and the proxy did not start: ${String(err)}`);
    }
    if (rig) {
      const started = rig;
      log(
        `MinIO ${rig.minio.endpoint} (pid ${rig.minioPid}), s3seal ${rig.proxy.url} (pid ${rig.proxy.pid})`,
      );
      try {
        for (const phase of rigPhases) await record(phase, () => RIG_PHASES[phase](started, config, log));
      } finally {
        await rig.stop();
      }
    }
  }

  const results: Results = {
    schema: 1,
    mode: config.mode,
    date: new Date().toISOString(),
    runs: config.runs,
    command: config.mode === 'quick' ? 'make bench-quick' : 'make bench',
    machine: await describeMachine(minioBinary(), config.warpBinary),
    settings: settingsOf(config),
    ...headline(raw),
    definitions: DEFINITIONS,
    notes: notesFor(raw),
    errors,
    raw,
  };
  mkdirSync(path.dirname(config.resultsPath), { recursive: true });
  writeFileSync(config.resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  log(
    `wrote ${path.relative(process.cwd(), config.resultsPath)} in ${((Date.now() - started) / 60_000).toFixed(1)} min`,
  );
  if (Object.keys(errors).length > 0) {
    log(`failed phases: ${Object.keys(errors).join(', ')}`);
    process.exitCode = 1;
  }
}

function readPrevious(config: BenchConfig): Results | undefined {
  if (config.phases.size === PHASES.length || !existsSync(config.resultsPath)) return undefined;
  const previous = JSON.parse(readFileSync(config.resultsPath, 'utf8')) as Results;
  return previous.schema === 1 && previous.mode === config.mode ? previous : undefined;
}

function settingsOf(c: BenchConfig): Record<string, unknown> {
  return {
    phases: [...c.phases],
    proxyMain: path.relative(REPO_ROOT, c.proxyMain),
    proxyLogLevel: c.proxyLogLevel,
    proxyEnv: c.proxyEnv,
    largeBytes: c.largeBytes,
    parallelStreams: c.parallelStreams,
    rangeBytes: c.rangeBytes,
    rangeRequests: c.rangeRequests,
    multipartBytes: c.multipartBytes,
    multipartPartBytes: c.multipartPartBytes,
    multipartQueue: c.multipartQueue,
    smallSizes: c.smallSizes,
    smallConcurrency: c.smallConcurrency,
    smallObjects: c.smallObjects,
    smallWindowSeconds: c.smallWindowSeconds,
    listKeys: c.listKeys,
    hugeBytes: c.hugeBytes,
    manyUploads: c.manyUploads,
    manyUploadBytes: c.manyUploadBytes,
    cryptoBytes: c.cryptoBytes,
    cryptoChunkSizes: c.cryptoChunkSizes,
  };
}

/** The MinIO binary `make test-deps` built, if it did (only its version is wanted here). */
function minioBinary(): string | undefined {
  try {
    return findBinary('minio');
  } catch (err: unknown) {
    if (err instanceof RigError && err.code === 'S3SEAL_RIG_BINARY_MISSING') return undefined;
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`s3seal-bench: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
