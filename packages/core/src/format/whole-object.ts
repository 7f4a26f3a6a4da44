import type { Keyring } from '../keyring/keyring.js';
import { DecryptStream } from './decrypt-stream.js';
import { EncryptStream } from './encrypt-stream.js';
import { partSegmentKey, sealEnvelope, singleSegmentKey } from './envelope.js';
import type { RandomBytes, SealedEnvelope, SealOptions } from './envelope.js';
import { describeLayout, planRead } from './layout.js';
import type { ObjectLayout } from './layout.js';
import { assertClientMetadataFits } from './metadata.js';
import type { SealedObjectInfo } from './metadata.js';
import { PART_HEADER_BYTES, plaintextSize } from './sizes.js';

/**
 * Streams over a whole stored object, for tools that read or write one end to end (the CLI's
 * verify and encrypt-legacy). The proxy's reads plan ranges themselves; these are the
 * whole-object case of the same pieces.
 */

/**
 * The layout of a stored object: from its metadata for a single PUT, from each part's stored
 * size for a multipart object (what `HEAD ?partNumber=N` reports, docs/FORMAT.md §5a). Throws
 * S3SEAL_CIPHERTEXT_INVALID when a part has a size no sealed part has.
 */
export function storedObjectLayout(
  info: Pick<SealedObjectInfo, 'layout' | 'chunkSize' | 'plaintextSize'>,
  partSealedSizes: readonly number[] = [],
): ObjectLayout {
  if (info.layout === 'single') {
    return describeLayout(info.chunkSize, [{ plaintextSize: info.plaintextSize ?? 0, headerBytes: 0 }]);
  }
  return describeLayout(
    info.chunkSize,
    partSealedSizes.map((sealed) => ({
      plaintextSize: plaintextSize(sealed, info.chunkSize, PART_HEADER_BYTES),
      headerBytes: PART_HEADER_BYTES,
    })),
  );
}

/**
 * Decrypts the whole stored object, fed from its first stored byte: every chunk is
 * authenticated, each part's header is checked (ascending part numbers), and input that ends
 * early or runs past `layout.sealedSize` fails the stream.
 */
export function createObjectDecryptStream(
  info: SealedObjectInfo,
  dek: Buffer,
  layout: ObjectLayout,
): DecryptStream {
  const single = info.layout === 'single' ? singleSegmentKey(info, dek) : undefined;
  return new DecryptStream({
    algorithm: info.algorithm,
    layout,
    plan: planRead(layout),
    // A whole read starts at each part's header, so a multipart segment always has one here.
    segmentKey: (_index, header) => single ?? partSegmentKey(info, dek, header!),
  });
}

export interface SingleEncryptOptions extends Omit<SealOptions, 'layout'> {
  readonly plaintextSize: number;
  /** The client's metadata to be stored beside s3seal's: checked to fit (S3SEAL_METADATA_TOO_LARGE, _RESERVED). */
  readonly clientMetadata?: Readonly<Record<string, string>>;
}

/** A new single-PUT object: its envelope (metadata to store) and the stream that seals its body. */
export function createSingleEncryptStream(
  keyring: Keyring,
  options: SingleEncryptOptions,
  randomBytes?: RandomBytes,
): { envelope: SealedEnvelope; encrypt: EncryptStream } {
  const { clientMetadata, ...seal } = options;
  const envelope = sealEnvelope(keyring, { ...seal, layout: 'single' }, randomBytes);
  if (clientMetadata !== undefined) assertClientMetadataFits(clientMetadata, envelope.metadata);
  const encrypt = new EncryptStream({
    algorithm: envelope.info.algorithm,
    chunkSize: envelope.info.chunkSize,
    key: singleSegmentKey(envelope.info, envelope.dek),
    plaintextSize: options.plaintextSize,
  });
  return { envelope, encrypt };
}
