import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { S3_ERRORS } from './errors.js';

const DOC = readFileSync(fileURLToPath(new URL('../../../../docs/ERRORS.md', import.meta.url)), 'utf8');

describe('the S3 error table', () => {
  it('has valid statuses', () => {
    for (const [code, entry] of Object.entries(S3_ERRORS)) {
      expect([code, entry.status >= 300 && entry.status < 600]).toEqual([code, true]);
      expect(entry.message.length).toBeGreaterThan(0);
    }
  });

  it('is documented in docs/ERRORS.md, entry for entry, both ways', () => {
    const documented = new Map(
      [...DOC.matchAll(/^\|\s*`([A-Za-z0-9]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])]),
    );
    expect(documented).toEqual(new Map(Object.entries(S3_ERRORS).map(([code, e]) => [code, e.status])));
  });
});
