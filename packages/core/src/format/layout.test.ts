import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { makeKeyring, openMultipart, sealMultipart } from '../test-support/objects.js';
import { openBuffer, sealBuffer } from './buffers.js';
import { describeLayout, planRead } from './layout.js';

describe('ranged reads', () => {
  it('match decrypt-all-then-slice for random ranges of single-PUT objects', async () => {
    const keyring = makeKeyring();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 16, max: 700 }),
        fc.nat(),
        fc.nat(),
        async (size, chunkSize, x, y) => {
          const plaintext = randomBytes(size);
          const { metadata, sealed } = await sealBuffer(keyring, plaintext, { objectKey: 'r', chunkSize });
          const start = x % size;
          const end = start + (y % (size - start));
          const slice = await openBuffer(keyring, metadata, sealed, 'r', { start, end });
          expect(slice.equals(plaintext.subarray(start, end + 1))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('match decrypt-all-then-slice for random ranges across parts', async () => {
    const keyring = makeKeyring();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 16, max: 300 }),
        fc.nat(),
        fc.nat(),
        async (sizes, chunkSize, x, y) => {
          const parts = sizes.map((n) => randomBytes(n));
          const plaintext = Buffer.concat(parts);
          fc.pre(plaintext.length > 0);
          const object = await sealMultipart(keyring, parts, { objectKey: 'mp', chunkSize });
          const start = x % plaintext.length;
          const end = start + (y % (plaintext.length - start));
          const slice = await openMultipart(keyring, object, 'mp', { start, end });
          expect(slice.equals(plaintext.subarray(start, end + 1))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fetches only the chunks that cover the range', () => {
    const layout = describeLayout(64 * 1024, [{ plaintextSize: 1024 ** 3, headerBytes: 0 }]);
    const mid = 512 * 1024 * 1024;
    const plan = planRead(layout, mid, mid + 1024 * 1024 - 1);
    expect(plan.sealedEnd - plan.sealedStart).toBe(16 * (64 * 1024 + 16));
    expect(plan.skipBytes).toBe(0);
  });

  it('refuses ranges outside the object', () => {
    const layout = describeLayout(1024, [{ plaintextSize: 100, headerBytes: 0 }]);
    expect(() => planRead(layout, 100, 100)).toThrow(
      expect.objectContaining({ code: 'S3SEAL_RANGE_NOT_SATISFIABLE' }),
    );
    expect(() => planRead(layout, 5, 4)).toThrow(
      expect.objectContaining({ code: 'S3SEAL_RANGE_NOT_SATISFIABLE' }),
    );
  });
});
