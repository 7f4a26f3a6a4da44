import { describe, expect, it } from '@jest/globals';
import { hasFailures, renderSummary, summarize } from './summary.js';

describe('summary', () => {
  const run = {
    objects: 4,
    bytes: 4096,
    outcomes: [
      { key: 'p/a', sizeBytes: 1024, status: 'rewrapped' as const, detail: 'default:v1 -> default:v2' },
      { key: 'p/b', sizeBytes: 1024, status: 'current' as const },
      { key: 'p/c', sizeBytes: 1024, status: 'legacy' as const },
      {
        key: 'p/d',
        sizeBytes: 1024,
        status: 'failed' as const,
        failure: { code: 'S3SEAL_KEY_VERSION_UNKNOWN', message: 'KEK version v1 is not loaded' },
      },
    ],
  };

  it('counts every outcome, lists the chosen ones and every failure', () => {
    const summary = summarize('rewrap', { bucket: 'b', key: 'p/' }, run, {
      statuses: ['rewrapped', 'current', 'legacy'],
      listStatuses: ['legacy'],
      isDryRun: false,
    });
    expect(summary.counts).toEqual({ rewrapped: 1, current: 1, legacy: 1, failed: 1 });
    expect(summary.listed).toEqual({ legacy: [{ key: 'p/c' }] });
    expect(summary.failed).toEqual([
      { key: 'p/d', code: 'S3SEAL_KEY_VERSION_UNKNOWN', message: 'KEK version v1 is not loaded' },
    ]);
    expect(hasFailures(summary)).toBe(true);
    const text = renderSummary(summary, 'b');
    expect(text).toContain('s3seal rewrap s3://b/p/: 4 objects, 4.0 KiB');
    expect(text).toContain('legacy:\n  s3://b/p/c');
    expect(text).toContain('failed:\n  s3://b/p/d  S3SEAL_KEY_VERSION_UNKNOWN: KEK version v1 is not loaded');
  });
});
