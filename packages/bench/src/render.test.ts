import { describe, expect, it } from '@jest/globals';
import { renderMarkdown } from './render.js';
import { DEFINITIONS, headline } from './results.js';
import type { RawResults, Results } from './results.js';

function results(raw: RawResults, errors: Record<string, string> = {}): Results {
  return {
    schema: 1,
    mode: 'full',
    date: '2026-11-22T06:00:00.000Z',
    runs: 3,
    command: 'make bench',
    machine: {
      cores: 2,
      cpuModel: 'Test CPU',
      memoryGiB: 24,
      kernel: 'Linux 6.0',
      node: 'v24.0.0',
      openssl: 'OpenSSL 3.0.0',
      minio: 'minio version RELEASE.X',
      warp: 'warp version 1.0.0',
    },
    settings: { proxyMain: 'packages/proxy/dist/main.js', proxyLogLevel: 'info', proxyEnv: {} },
    ...headline(raw),
    definitions: DEFINITIONS,
    notes: [],
    errors,
    raw,
  };
}

describe('renderMarkdown', () => {
  it('lists every headline key, with a dash for what was not measured', () => {
    const md = renderMarkdown(results({}, { small: 'Error: warp not found\n    at x' }));
    for (const key of Object.keys(DEFINITIONS)) expect(md).toContain(`| \`${key}\` | — |`);
    expect(md).toContain('phase **small** failed: `Error: warp not found`');
    expect(md).toContain('make bench');
  });

  it('renders the crypto table and judges the target', () => {
    const md = renderMarkdown(
      results({
        crypto: {
          cpu: '0',
          bytesPerRun: 2 ** 30,
          opensslVersion: 'OpenSSL 3.0.0',
          chunks: [
            {
              chunkSize: 65536,
              encryptMiBPerSecond: 2000,
              decryptMiBPerSecond: 3000,
              opensslEncryptMiBPerSecond: 4000,
              opensslDecryptMiBPerSecond: 4000,
              samples: { encryptMiBPerSecond: [2000], decryptMiBPerSecond: [3000] },
            },
          ],
        },
      }),
    );
    expect(md).toContain('| `crypto_vs_openssl` | 0.5 | ≥ 0.5 ✅ |');
    expect(md).toContain('| 64KiB | 2000 | 3000 | 4000 | 4000 | 0.50 | 0.75 |');
  });
});
