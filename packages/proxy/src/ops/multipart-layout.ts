import { CoreError, describeLayout, PART_HEADER_BYTES, plaintextSize } from '@s3seal/core';
import type { ObjectLayout } from '@s3seal/core';

/**
 * The part layout of a multipart object, from what the backend reports about its stored
 * parts (docs/FORMAT.md §5a). Pure arithmetic; object-layout.ts asks the backend.
 */

/** The part count in a multipart ETag (`"<hex>-N"`), or undefined for any other ETag. */
export function partsCountOfEtag(etag: string | undefined): number | undefined {
  const m = /-(\d{1,5})"?$/.exec(etag ?? '');
  const count = m ? Number(m[1]) : NaN;
  return count >= 1 && count <= 10_000 ? count : undefined;
}

export interface LayoutGuess {
  readonly layout: ObjectLayout;
  /**
   * Whether the guess is exact (one or two parts) or safe to serve until a read proves it
   * wrong: part 1 is a whole number of chunks and the last part is not larger than it, as
   * every client that uploads in fixed-size parts produces. Then the total plaintext size is
   * right even if the middle parts differ (§3), so HEAD is exact and a GET can recover.
   */
  readonly isTrusted: boolean;
  readonly isExact: boolean;
}

/**
 * Assumes every part but the last is as large as part 1 (§5a). Undefined when that cannot be
 * (a size no sealed part has, or parts that do not fit the total): ask for every part then.
 */
export function guessLayout(
  chunkSize: number,
  partsCount: number,
  firstPartSealedBytes: number,
  totalSealedBytes: number,
): LayoutGuess | undefined {
  const lastSealed = totalSealedBytes - (partsCount - 1) * firstPartSealedBytes;
  if (partsCount < 1 || lastSealed < PART_HEADER_BYTES) return undefined;
  const firstPlain = partPlaintextSize(firstPartSealedBytes, chunkSize);
  const lastPlain = partsCount === 1 ? firstPlain : partPlaintextSize(lastSealed, chunkSize);
  if (firstPlain === undefined || lastPlain === undefined) return undefined;
  if (partsCount === 1 && lastSealed !== firstPartSealedBytes) return undefined;
  const segments = Array.from({ length: partsCount }, (_, i) => ({
    plaintextSize: i === partsCount - 1 ? lastPlain : firstPlain,
    headerBytes: PART_HEADER_BYTES,
  }));
  const isExact = partsCount <= 2;
  return {
    layout: describeLayout(chunkSize, segments),
    isExact,
    isTrusted: isExact || (firstPlain % chunkSize === 0 && lastSealed <= firstPartSealedBytes),
  };
}

/** The exact layout from every part's stored size; DecryptionFailed-worthy when one is impossible. */
export function layoutFromPartSizes(chunkSize: number, sealedSizes: readonly number[]): ObjectLayout {
  return describeLayout(
    chunkSize,
    sealedSizes.map((sealed, i) => {
      const plain = partPlaintextSize(sealed, chunkSize);
      if (plain === undefined) {
        throw new CoreError(
          'S3SEAL_CIPHERTEXT_INVALID',
          `part ${i + 1} is ${sealed} stored bytes, which no sealed part is: it was altered in the backend`,
        );
      }
      return { plaintextSize: plain, headerBytes: PART_HEADER_BYTES };
    }),
  );
}

/**
 * Plaintext size of a multipart object from its listing entry alone (§3, §5a): exact when
 * every part but the last is a whole number of chunks. Undefined when no plaintext size fits.
 */
export function listedMultipartSize(
  storedBytes: number,
  partsCount: number,
  chunkSize: number,
): number | undefined {
  return partPlaintextSize(storedBytes - PART_HEADER_BYTES * (partsCount - 1), chunkSize);
}

/** Plaintext size of one stored part (header and sealed chunks); undefined when no part has that size. */
export function partPlaintextSize(sealed: number, chunkSize: number): number | undefined {
  if (!Number.isSafeInteger(sealed) || sealed < PART_HEADER_BYTES) return undefined;
  try {
    return plaintextSize(sealed, chunkSize, PART_HEADER_BYTES);
  } catch (err: unknown) {
    if (err instanceof CoreError) return undefined;
    throw err;
  }
}
