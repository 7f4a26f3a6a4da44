// `make soak`: the long soak (soak.ts). S3SEAL_SOAK_SECONDS (default 600) and S3SEAL_SOAK_CLIENTS
// (default 64) override the length and the load; the report goes to bench/out/soak.json. Exits 1
// on a mismatch, plaintext at rest or an unexpected error. Reads the environment here because the
// benchmark's config.ts describes `make bench`, not this.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isSoakClean, REPO_ROOT, runSoak, summarizeSoak } from './soak.js';

const MIB = 1024 * 1024;

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, not ${text}`);
  return value;
}

const outDir = path.join(REPO_ROOT, 'bench/out');
const report = await runSoak({
  seconds: positiveInteger('S3SEAL_SOAK_SECONDS', 600),
  clients: positiveInteger('S3SEAL_SOAK_CLIENTS', 64),
  maxObjectBytes: 64 * MIB,
  // About 7 MiB/s over ten minutes: what a 2-core machine encrypts beside MinIO and the clients.
  writeBudgetBytes: positiveInteger('S3SEAL_SOAK_WRITE_BUDGET_MIB', 4096) * MIB,
  outDir,
  onProgress: (line) => process.stdout.write(`${line}\n`),
});
const file = path.join(outDir, 'soak.json');
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${summarizeSoak(report)}\n  report: ${path.relative(process.cwd(), file)}\n`);
process.exitCode = isSoakClean(report) ? 0 : 1;
