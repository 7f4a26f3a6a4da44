import { CoreError } from '../errors.js';
import { assertChunkSize, chunkCount, chunkPlaintextSize, sealedSize, TAG_BYTES } from './sizes.js';

/** Where one segment (the single body, or one part) lies in plaintext and in the stored object. */
export interface SegmentLayout {
  readonly plaintextOffset: number;
  readonly plaintextSize: number;
  readonly sealedOffset: number;
  readonly sealedSize: number;
  readonly headerBytes: number;
  readonly chunkCount: number;
}

export interface ObjectLayout {
  readonly chunkSize: number;
  readonly plaintextSize: number;
  readonly sealedSize: number;
  readonly segments: readonly SegmentLayout[];
}

/** Lays out segments back to back. A single-PUT object is `[{ plaintextSize, headerBytes: 0 }]`. */
export function describeLayout(
  chunkSize: number,
  segments: readonly { plaintextSize: number; headerBytes: number }[],
): ObjectLayout {
  assertChunkSize(chunkSize);
  if (segments.length === 0)
    throw new CoreError('S3SEAL_FORMAT_ARGUMENT', 'an object has at least one segment');
  let plaintextOffset = 0;
  let sealedOffset = 0;
  const out: SegmentLayout[] = [];
  for (const { plaintextSize, headerBytes } of segments) {
    const size = sealedSize(plaintextSize, chunkSize, headerBytes);
    out.push({
      plaintextOffset,
      plaintextSize,
      sealedOffset,
      sealedSize: size,
      headerBytes,
      chunkCount: chunkCount(plaintextSize, chunkSize),
    });
    plaintextOffset += plaintextSize;
    sealedOffset += size;
  }
  return { chunkSize, plaintextSize: plaintextOffset, sealedSize: sealedOffset, segments: out };
}

/**
 * What to fetch and how to decrypt it for one plaintext byte range. The sealed range is one
 * contiguous slice of the stored object, so one ranged GET serves it. When it starts at a
 * segment's first chunk it includes that segment's header.
 */
export interface ReadPlan {
  /** First stored byte to fetch. */
  readonly sealedStart: number;
  /** One past the last stored byte to fetch. */
  readonly sealedEnd: number;
  readonly firstSegment: number;
  readonly firstChunk: number;
  /** Whether the slice starts with the first segment's header (else its key must be known). */
  readonly startsWithHeader: boolean;
  readonly lastSegment: number;
  readonly lastChunk: number;
  /** Plaintext bytes of the first chunk to drop before emitting. */
  readonly skipBytes: number;
  /** Plaintext bytes to emit. */
  readonly length: number;
  readonly plaintextStart: number;
}

/** Plans the read of plaintext bytes `start..endInclusive` (both already resolved against the size). */
export function planRead(layout: ObjectLayout, start = 0, endInclusive = layout.plaintextSize - 1): ReadPlan {
  const size = layout.plaintextSize;
  const C = layout.chunkSize;
  if (size === 0 && start === 0 && endInclusive === -1) {
    // The whole of an empty object: its single empty chunk still has to be read and verified.
    const last = layout.segments.length - 1;
    return {
      sealedStart: 0,
      sealedEnd: layout.sealedSize,
      firstSegment: 0,
      firstChunk: 0,
      startsWithHeader: true,
      lastSegment: last,
      lastChunk: 0,
      skipBytes: 0,
      length: 0,
      plaintextStart: 0,
    };
  }
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(endInclusive) ||
    start < 0 ||
    start > endInclusive ||
    endInclusive >= size
  ) {
    throw new CoreError(
      'S3SEAL_RANGE_NOT_SATISFIABLE',
      `range ${start}-${endInclusive} does not fit an object of ${size} bytes`,
    );
  }
  const first = segmentAt(layout, start);
  const last = segmentAt(layout, endInclusive);
  const a = layout.segments[first]!;
  const b = layout.segments[last]!;
  const firstChunk = Math.floor((start - a.plaintextOffset) / C);
  const lastChunk = Math.floor((endInclusive - b.plaintextOffset) / C);
  const startsWithHeader = firstChunk === 0;
  const sealedStart = startsWithHeader
    ? a.sealedOffset
    : a.sealedOffset + a.headerBytes + firstChunk * (C + TAG_BYTES);
  const sealedEnd =
    b.sealedOffset +
    b.headerBytes +
    lastChunk * (C + TAG_BYTES) +
    chunkPlaintextSize(lastChunk, b.plaintextSize, C) +
    TAG_BYTES;
  return {
    sealedStart,
    sealedEnd,
    firstSegment: first,
    firstChunk,
    startsWithHeader,
    lastSegment: last,
    lastChunk,
    skipBytes: start - a.plaintextOffset - firstChunk * C,
    length: endInclusive - start + 1,
    plaintextStart: start,
  };
}

/** Index of the segment holding plaintext byte `offset` (binary search; parts are many). */
function segmentAt(layout: ObjectLayout, offset: number): number {
  const segments = layout.segments;
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segments[mid]!.plaintextOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  // Empty segments share their offset with the next one; taking the last match skips them.
  return lo;
}
