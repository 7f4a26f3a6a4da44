import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isCoreError } from '../errors.js';
import { chunkCount, PART_HEADER_BYTES, plaintextSize, sealedSize, TAG_BYTES } from './sizes.js';

describe('size arithmetic', () => {
  it('matches the formula in docs/FORMAT.md at the edges', () => {
    const C = 65536;
    expect(sealedSize(0, C)).toBe(16);
    expect(sealedSize(1, C)).toBe(17);
    expect(sealedSize(C - 1, C)).toBe(C - 1 + 16);
    expect(sealedSize(C, C)).toBe(C + 16);
    expect(sealedSize(C + 1, C)).toBe(C + 1 + 32);
    expect(sealedSize(5 * 1024 ** 4, C)).toBe(5 * 1024 ** 4 + (16 * (5 * 1024 ** 4)) / C);
    expect(sealedSize(10, C, PART_HEADER_BYTES)).toBe(32 + 10 + 16);
    expect(chunkCount(0, C)).toBe(1);
  });

  it('inverts exactly for every size and chunk size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 16, max: 1 << 20 }),
        fc.constantFrom(0, PART_HEADER_BYTES),
        (p, c, h) => plaintextSize(sealedSize(p, c, h), c, h) === p,
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects every stored size that no plaintext size produces', () => {
    const C = 32;
    const possible = new Set<number>();
    for (let p = 0; p < 400; p++) possible.add(sealedSize(p, C));
    for (let s = 0; s < sealedSize(399, C); s++) {
      if (possible.has(s)) continue;
      let error: unknown;
      try {
        plaintextSize(s, C);
      } catch (err: unknown) {
        error = err;
      }
      expect(isCoreError(error, 'S3SEAL_CIPHERTEXT_INVALID')).toBe(true);
    }
    // Sizes between one full chunk and a final chunk that would be empty are impossible.
    expect(() => plaintextSize(C + TAG_BYTES + TAG_BYTES, C)).toThrow();
  });
});
