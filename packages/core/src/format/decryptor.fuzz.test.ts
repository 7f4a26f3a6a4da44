// The decryptor fed tampered ciphertext: bits flipped, truncated anywhere, chunks swapped or
// duplicated, parts reordered, part headers exchanged. It never emits unauthenticated
// plaintext (what it emits is always a prefix of the true plaintext ending on a chunk
// boundary), always ends in a CoreError for any tampering, and never spins (each case is
// synchronous and timed). S3SEAL_FUZZ_RUNS raises the run count (make fuzz).
import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isCoreError } from '../errors.js';
import { makeKeyring, sealMultipart } from '../test-support/objects.js';
import { sealBuffer } from './buffers.js';
import { Decryptor } from './decryptor.js';
import { openEnvelope, partSegmentKey, singleSegmentKey } from './envelope.js';
import { describeLayout, planRead, type ObjectLayout } from './layout.js';
import type { PartHeader } from './part-header.js';
import { PART_HEADER_BYTES, TAG_BYTES } from './sizes.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);
const CASE_LIMIT_MS = 2000;
const CHUNK = 32;

interface Fixture {
  plaintext: Buffer;
  sealed: Buffer;
  layout: ObjectLayout;
  makeDecryptor: () => Decryptor;
  /** Sealed byte ranges [start, end) of every chunk (header excluded), in order. */
  chunks: [number, number][];
  /** Sealed byte ranges of every part (header included); one for a single object. */
  parts: [number, number][];
  /** Plaintext offsets where an authenticated chunk ends. */
  boundaries: Set<number>;
}

function describeFixture(
  plaintext: Buffer,
  sealed: Buffer,
  layout: ObjectLayout,
  makeDecryptor: () => Decryptor,
): Fixture {
  const chunks: [number, number][] = [];
  const parts: [number, number][] = [];
  const boundaries = new Set<number>([0]);
  let at = 0;
  let plain = 0;
  for (const segment of layout.segments) {
    const partStart = at;
    at += segment.headerBytes;
    for (let i = 0; i < segment.chunkCount; i++) {
      const size = Math.min(CHUNK, segment.plaintextSize - i * CHUNK);
      chunks.push([at, at + size + TAG_BYTES]);
      at += size + TAG_BYTES;
      plain += size;
      boundaries.add(plain);
    }
    parts.push([partStart, at]);
  }
  expect(at).toBe(sealed.length);
  return { plaintext, sealed, layout, makeDecryptor, chunks, parts, boundaries };
}

const keyring = makeKeyring();
const fixtures: Fixture[] = [];

beforeAll(async () => {
  const plain = Buffer.from(Array.from({ length: 150 }, (_, i) => (i * 7 + 3) & 0xff));
  const single = await sealBuffer(keyring, plain, { objectKey: 'k', chunkSize: CHUNK });
  const singleLayout = describeLayout(CHUNK, [{ plaintextSize: plain.length, headerBytes: 0 }]);
  const { info, dek } = openEnvelope(keyring, single.metadata, 'k');
  const key = singleSegmentKey(info, dek);
  fixtures.push(
    describeFixture(
      plain,
      single.sealed,
      singleLayout,
      () =>
        new Decryptor({
          algorithm: info.algorithm,
          layout: singleLayout,
          plan: planRead(singleLayout),
          segmentKey: () => key,
        }),
    ),
  );
  const partsPlain = [plain.subarray(0, 64), plain.subarray(64, 128), plain.subarray(128)];
  const multi = await sealMultipart(keyring, partsPlain, { objectKey: 'm', chunkSize: CHUNK });
  const opened = openEnvelope(keyring, multi.metadata, 'm');
  fixtures.push(
    describeFixture(
      plain,
      multi.sealed,
      multi.layout,
      () =>
        new Decryptor({
          algorithm: opened.info.algorithm,
          layout: multi.layout,
          plan: planRead(multi.layout),
          segmentKey: (_i: number, header: PartHeader | undefined) =>
            partSegmentKey(opened.info, opened.dek, header!),
        }),
    ),
  );
});

type Outcome = { emitted: Buffer; error: string | undefined };

function decrypt(fixture: Fixture, input: Buffer, cuts: readonly number[]): Outcome {
  const started = Date.now();
  const out: Buffer[] = [];
  let error: string | undefined;
  try {
    const decryptor = fixture.makeDecryptor();
    let at = 0;
    for (const cut of [...cuts.map((c) => c % (input.length + 1)), input.length].sort((a, b) => a - b)) {
      if (cut > at) decryptor.write(input.subarray(at, cut), (pieces) => out.push(Buffer.concat(pieces)));
      at = Math.max(at, cut);
    }
    decryptor.end();
  } catch (err: unknown) {
    if (!isCoreError(err)) throw err;
    error = err.code;
  }
  expect(Date.now() - started).toBeLessThan(CASE_LIMIT_MS);
  return { emitted: Buffer.concat(out), error };
}

const fixture = (f: Fixture): Fixture => f;

/** What a reader may ever have seen: a prefix of the plaintext, ending on a chunk boundary. */
function expectOnlyAuthenticated(fixture: Fixture, emitted: Buffer): void {
  expect(emitted.equals(fixture.plaintext.subarray(0, emitted.length))).toBe(true);
  expect(fixture.boundaries.has(emitted.length)).toBe(true);
}

function swap(buf: Buffer, a: [number, number], b: [number, number]): Buffer {
  const [x, y] = a[0] < b[0] ? [a, b] : [b, a];
  return Buffer.concat([
    buf.subarray(0, x[0]),
    buf.subarray(y[0], y[1]),
    buf.subarray(x[1], y[0]),
    buf.subarray(x[0], x[1]),
    buf.subarray(y[1]),
  ]);
}

const tampering = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 60 }) }),
  fc.record({ kind: fc.constant('swapChunks' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('duplicateChunk' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('dropChunk' as const), a: fc.nat() }),
  fc.record({ kind: fc.constant('swapParts' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('swapHeaders' as const), a: fc.nat(), b: fc.nat() }),
);
type Tampering = typeof tampering extends fc.Arbitrary<infer T> ? T : never;

function tamper(f: Fixture, t: Tampering): Buffer {
  const s = f.sealed;
  const pick = <T>(list: T[], n: number): T => list[n % list.length]!;
  switch (t.kind) {
    case 'flip': {
      const out = Buffer.from(s);
      for (const [at, bit] of t.at) out[at % out.length]! ^= 1 << bit;
      return out;
    }
    case 'truncate':
      return s.subarray(0, t.at % s.length);
    case 'extend':
      return Buffer.concat([s, t.extra]);
    case 'swapChunks':
      return pick(f.chunks, t.a) === pick(f.chunks, t.b)
        ? s
        : swap(s, pick(f.chunks, t.a), pick(f.chunks, t.b));
    case 'duplicateChunk': {
      const [a, b] = pick(f.chunks, t.a);
      return Buffer.concat([s.subarray(0, b), s.subarray(a, b), s.subarray(b)]);
    }
    case 'dropChunk': {
      const [a, b] = pick(f.chunks, t.a);
      return Buffer.concat([s.subarray(0, a), s.subarray(b)]);
    }
    case 'swapParts':
      return pick(f.parts, t.a) === pick(f.parts, t.b) ? s : swap(s, pick(f.parts, t.a), pick(f.parts, t.b));
    case 'swapHeaders': {
      if (f.parts.length < 2) return s;
      const a = pick(f.parts, t.a)[0];
      const b = pick(f.parts, t.b)[0];
      return a === b ? s : swap(s, [a, a + PART_HEADER_BYTES], [b, b + PART_HEADER_BYTES]);
    }
  }
}

describe('Decryptor under tampering (property)', () => {
  it('untampered input, however cut, gives the plaintext', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.array(fc.nat(), { maxLength: 8 }), (which, cuts) => {
        const f = fixtures[which]!;
        const { emitted, error } = decrypt(f, f.sealed, cuts);
        expect(error).toBeUndefined();
        expect(emitted.equals(f.plaintext)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('tampered input: only whole authenticated chunks of the true plaintext, then an error', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 }), tampering, fc.array(fc.nat(), { maxLength: 8 }), (which, t, cuts) => {
        const f = fixtures[which]!;
        const input = tamper(f, t);
        fc.pre(!input.equals(f.sealed));
        const { emitted, error } = decrypt(f, input, cuts);
        expect(error).toBe('S3SEAL_CIPHERTEXT_INVALID');
        if (t.kind === 'swapParts') {
          // Whole parts moved: each is authentic under its own header, and the reader only
          // learns of the move at the first part number that is not ascending, so a later part's
          // authenticated chunks can come out first (docs/FORMAT.md §2 "reorder parts").
          expect(fixture(f).boundaries.has(emitted.length)).toBe(true);
        } else expectOnlyAuthenticated(f, emitted);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes: an error, never plaintext', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.uint8Array({ maxLength: 400 }), (which, bytes) => {
        const f = fixtures[which]!;
        const { emitted, error } = decrypt(f, Buffer.from(bytes), []);
        expect(emitted.length).toBe(0);
        expect(error).toBe('S3SEAL_CIPHERTEXT_INVALID');
      }),
      { numRuns: RUNS },
    );
  });
});
