import { describe, expect, it } from '@jest/globals';
import { PART_HEADER_BYTES, sealedSize } from '@s3seal/core';
import {
  guessLayout,
  layoutFromPartSizes,
  listedMultipartSize,
  partsCountOfEtag,
} from './multipart-layout.js';

const C = 64 * 1024;
const MiB = 1024 * 1024;
const sealed = (p: number): number => sealedSize(p, C, PART_HEADER_BYTES);
const total = (parts: number[]): number => parts.reduce((sum, p) => sum + sealed(p), 0);

describe('partsCountOfEtag', () => {
  it.each([
    ['"0123456789abcdef0123456789abcdef-3"', 3],
    ['0123456789abcdef0123456789abcdef-10000', 10000],
    ['"0123456789abcdef0123456789abcdef"', undefined],
    ['"abc-0"', undefined],
    ['"abc-10001"', undefined],
    [undefined, undefined],
  ])('%s → %s', (etag, count) => {
    expect(partsCountOfEtag(etag)).toBe(count);
  });
});

describe('guessLayout', () => {
  it('lays out equal parts and a smaller last one, trusted', () => {
    const parts = [5 * MiB, 5 * MiB, 5 * MiB, 1234567];
    const guess = guessLayout(C, parts.length, sealed(parts[0]!), total(parts))!;
    expect(guess.isTrusted).toBe(true);
    expect(guess.isExact).toBe(false);
    expect(guess.layout.segments.map((s) => s.plaintextSize)).toEqual(parts);
    expect(guess.layout.sealedSize).toBe(total(parts));
  });

  it('is exact for one and two parts, whatever their sizes', () => {
    const one = guessLayout(C, 1, sealed(777), sealed(777))!;
    expect(one).toMatchObject({ isExact: true, isTrusted: true });
    expect(one.layout.plaintextSize).toBe(777);
    const two = guessLayout(C, 2, sealed(5 * MiB + 3), total([5 * MiB + 3, 9 * MiB]))!;
    expect(two.isExact).toBe(true);
    expect(two.layout.segments.map((s) => s.plaintextSize)).toEqual([5 * MiB + 3, 9 * MiB]);
  });

  it('does not trust a part 1 that is not whole chunks (middle parts could differ in tags)', () => {
    const parts = [5_000_000, 5_000_000, 100];
    const guess = guessLayout(C, 3, sealed(parts[0]!), total(parts))!;
    expect(guess.isTrusted).toBe(false);
    expect(guess.layout.segments.map((s) => s.plaintextSize)).toEqual(parts);
  });

  it('does not trust a last part larger than part 1 (no fixed-size client does that)', () => {
    const parts = [5 * MiB, 6 * MiB, 5 * MiB];
    expect(guessLayout(C, 3, sealed(parts[0]!), total(parts))?.isTrusted).toBe(false);
  });

  it('gives up on sizes no layout of equal parts has', () => {
    expect(guessLayout(C, 3, sealed(5 * MiB), 2 * sealed(5 * MiB) + 10)).toBeUndefined();
    expect(guessLayout(C, 3, sealed(5 * MiB), sealed(5 * MiB))).toBeUndefined();
    expect(guessLayout(C, 1, sealed(10), sealed(10) + 1)).toBeUndefined();
    expect(guessLayout(C, 2, 20, 100)).toBeUndefined();
  });

  it('a wrong guess keeps the total when part 1 is whole chunks (§3)', () => {
    // Middle parts of 5 and 7 MiB, guessed as 6 and 6: the boundaries differ, the total does not.
    const parts = [6 * MiB, 5 * MiB, 7 * MiB, 1000];
    const guess = guessLayout(C, 4, sealed(parts[0]!), total(parts))!;
    expect(guess.isTrusted).toBe(true);
    expect(guess.layout.plaintextSize).toBe(parts.reduce((a, b) => a + b));
    expect(guess.layout.segments[1]!.plaintextSize).not.toBe(parts[1]);
  });
});

describe('layoutFromPartSizes', () => {
  it('lays out parts of any sizes', () => {
    const parts = [5 * MiB + 1, 7 * MiB, 0];
    const layout = layoutFromPartSizes(C, parts.map(sealed));
    expect(layout.segments.map((s) => s.plaintextSize)).toEqual(parts);
    expect(layout.sealedSize).toBe(total(parts));
  });

  it('refuses a size no sealed part has', () => {
    expect(() => layoutFromPartSizes(C, [sealed(5 * MiB), 40])).toThrow(
      expect.objectContaining({ code: 'S3SEAL_CIPHERTEXT_INVALID' }),
    );
  });
});

describe('listedMultipartSize', () => {
  it('is exact for parts of whole chunks', () => {
    const parts = [8 * MiB, 8 * MiB, 8 * MiB, 3 * MiB + 5];
    expect(listedMultipartSize(total(parts), parts.length, C)).toBe(27 * MiB + 5);
  });

  it('is undefined for an impossible size', () => {
    expect(listedMultipartSize(2 * PART_HEADER_BYTES + 5, 2, C)).toBeUndefined();
  });
});
