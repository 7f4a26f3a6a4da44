// The short soak (`make soak` runs the long one): 8 clients for ~40 s against the built proxy as
// its own process, multipart on, then every object verified through the proxy and at rest.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { isSoakClean, REPO_ROOT, runSoak, summarizeSoak } from '../../../bench/src/soak.js';

const MIB = 1024 * 1024;
const PROXY_MAIN = path.join(REPO_ROOT, 'packages/proxy/dist/main.js');

describe('a short soak of the proxy process', () => {
  let outDir: string | undefined;

  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('keeps every object intact and sealed under 8 clients mixing PUT, GET, ranges, LIST, copies and multipart', async () => {
    if (!existsSync(PROXY_MAIN))
      throw new Error(`${PROXY_MAIN} is missing: run \`make build\` (make test does)`);
    outDir = await mkdtemp(path.join(tmpdir(), 's3seal-soak-'));
    const report = await runSoak({
      seconds: 40,
      clients: 8,
      maxObjectBytes: 12 * MIB,
      writeBudgetBytes: 512 * MIB,
      atRestFullCheckMaxBytes: 2 * MIB,
      outDir,
      proxyMain: PROXY_MAIN,
    });
    process.stderr.write(`${summarizeSoak(report)}\n`);
    expect(report.errors.samples).toEqual([]);
    expect(report.totalMismatches).toBe(0);
    expect(report.atRest.plaintext).toBe(0);
    expect(report.errors.unexpected).toBe(0);
    expect(report.objects).toBeGreaterThan(0);
    expect(report.atRest.fullyChecked).toBeGreaterThan(0);
    expect(isSoakClean(report)).toBe(true);
  }, 180_000);
});
