import { CoreError } from '../errors.js';

/** Every chunk carries a 128-bit AEAD tag after its ciphertext. */
export const TAG_BYTES = 16;
/** Parts of a multipart object start with a fixed header; a single-PUT object has none. */
export const PART_HEADER_BYTES = 32;

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Bounds on the plaintext chunk size recorded per object (it must fit a u32 on the wire). */
export const MIN_CHUNK_SIZE = 16;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

export function assertChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new CoreError(
      'S3SEAL_FORMAT_ARGUMENT',
      `chunk size ${chunkSize} is outside ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE} bytes`,
    );
  }
}

function assertSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CoreError('S3SEAL_FORMAT_ARGUMENT', `${what} ${size} is not a non-negative integer`);
  }
}

/**
 * Number of chunks that seal `plaintextSize` bytes. An empty body still has one (empty,
 * final) chunk, so that an empty object is authenticated and cannot be confused with a
 * truncated one.
 */
export function chunkCount(plaintextSize: number, chunkSize: number): number {
  return plaintextSize === 0 ? 1 : Math.ceil(plaintextSize / chunkSize);
}

/** Plaintext bytes in chunk `index` of a segment of `plaintextSize` bytes. */
export function chunkPlaintextSize(index: number, plaintextSize: number, chunkSize: number): number {
  const last = chunkCount(plaintextSize, chunkSize) - 1;
  return index < last ? chunkSize : plaintextSize - last * chunkSize;
}

/**
 * Sealed (stored) size of one segment: `header + P + 16 * max(1, ceil(P / C))`.
 * A single-PUT object is one segment with no header.
 */
export function sealedSize(plaintextSize: number, chunkSize: number, headerBytes = 0): number {
  assertSize(plaintextSize, 'plaintext size');
  return headerBytes + plaintextSize + TAG_BYTES * chunkCount(plaintextSize, chunkSize);
}

/**
 * Inverse of {@link sealedSize}: the plaintext size of a segment from its stored size, with
 * no request to the backend. Throws when no plaintext size maps to `sealed` (the object
 * was not written by s3seal with this chunk size, or was truncated).
 */
export function plaintextSize(sealed: number, chunkSize: number, headerBytes = 0): number {
  assertSize(sealed, 'sealed size');
  const body = sealed - headerBytes;
  const sealedChunk = chunkSize + TAG_BYTES;
  if (body < TAG_BYTES) throw impossible(sealed, chunkSize);
  const fullChunks = Math.floor(body / sealedChunk);
  const rest = body - fullChunks * sealedChunk;
  if (rest === 0) return fullChunks * chunkSize;
  // A partial last chunk holds its tag and at least one byte, except for the empty object.
  if (rest < TAG_BYTES || (rest === TAG_BYTES && fullChunks > 0)) throw impossible(sealed, chunkSize);
  return fullChunks * chunkSize + rest - TAG_BYTES;
}

function impossible(sealed: number, chunkSize: number): CoreError {
  return new CoreError(
    'S3SEAL_CIPHERTEXT_INVALID',
    `stored size ${sealed} is not a possible s3seal size for chunk size ${chunkSize}`,
  );
}
