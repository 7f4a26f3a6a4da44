import type { Keyring } from '../keyring/keyring.js';
import { rewrapEnvelope } from './envelope.js';
import type { SealedEnvelope } from './envelope.js';
import { assertClientMetadataFits, METADATA_PREFIX } from './metadata.js';
import type { SealedObjectInfo } from './metadata.js';

/** An object's new user metadata after a rewrap: the client's own names, then s3seal's. */
export interface RewrappedMetadata {
  readonly envelope: SealedEnvelope;
  /** Every user-metadata name to store (without `x-amz-meta-`): client metadata plus the new s3seal fields. */
  readonly metadata: Record<string, string>;
}

export interface RewrapOptions {
  /** The key the object is stored under now (its data key may be bound to it). */
  readonly fromObjectKey: string;
  /** The key it will be stored under (a copy or rename); default: the same key. */
  readonly toObjectKey?: string;
  /**
   * The client's metadata to store next to s3seal's. Default: the stored metadata without its
   * s3seal fields (an object re-wrapped in place keeps everything else it had).
   */
  readonly clientMetadata?: Readonly<Record<string, string>>;
}

/**
 * Re-wraps a stored object's data key under the keyring's active KEK (and for another object
 * key when copied) and builds the user metadata to write with it. Only metadata changes: the
 * DEK, and so every segment key (docs/FORMAT.md §1: HKDF of the DEK, salt and part number),
 * stays the same, so the stored body is valid as it is. This is the one rewrap used by the
 * proxy's CopyObject and by `s3seal rewrap`.
 */
export function rewrapObjectMetadata(
  keyring: Keyring,
  storedMetadata: Readonly<Record<string, string>>,
  options: RewrapOptions,
): RewrappedMetadata {
  const envelope = rewrapEnvelope(keyring, storedMetadata, options.fromObjectKey, options.toObjectKey);
  const client = options.clientMetadata ?? clientMetadataOf(storedMetadata);
  assertClientMetadataFits(client, envelope.metadata);
  return { envelope, metadata: { ...client, ...envelope.metadata } };
}

/** The user metadata that is not s3seal's (names under `s3seal-` are reserved). */
export function clientMetadataOf(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (!name.toLowerCase().startsWith(METADATA_PREFIX)) out[name] = value;
  }
  return out;
}

/** Whether an object's data key is already wrapped with the keyring's active KEK (a rewrap would change nothing). */
export function isWrappedWithActiveKek(keyring: Keyring, info: Pick<SealedObjectInfo, 'kek'>): boolean {
  return info.kek.keyringId === keyring.id && info.kek.version === keyring.activeVersion;
}
