import type { KeySources } from '../keyring/key-source.js';
import { rewrapEnvelopeWith } from './envelope.js';
import type { ObjectLocation, SealedEnvelope } from './envelope.js';
import { assertClientMetadataFits, METADATA_PREFIX } from './metadata.js';
import type { SealedObjectInfo } from './metadata.js';

/** An object's new user metadata after a rewrap: the client's own names, then s3seal's. */
export interface RewrappedMetadata {
  readonly envelope: SealedEnvelope;
  /** Every user-metadata name to store (without `x-amz-meta-`): client metadata plus the new s3seal fields. */
  readonly metadata: Record<string, string>;
}

export interface RewrapOptions {
  /** Where the object is stored now (its data key may be bound to its key and bucket). */
  readonly from: ObjectLocation;
  /** Where it will be stored (a copy or rename); default: the same place. */
  readonly to?: ObjectLocation;
  /**
   * The client's metadata to store next to s3seal's. Default: the stored metadata without its
   * s3seal fields (an object re-wrapped in place keeps everything else it had).
   */
  readonly clientMetadata?: Readonly<Record<string, string>>;
}

/**
 * Re-wraps a stored object's data key with the active key source (a rotated KEK, a new Transit
 * key version, another key manager; and for another location when copied) and builds the
 * user metadata to write with it. Only metadata changes: the DEK, and so every segment key
 * (docs/FORMAT.md §1: HKDF of the DEK, salt and part number), stays the same, so the stored
 * body is valid as it is. This is the one rewrap used by the proxy's CopyObject and by
 * `s3seal rewrap`.
 */
export async function rewrapObjectMetadata(
  sources: KeySources,
  storedMetadata: Readonly<Record<string, string>>,
  options: RewrapOptions,
): Promise<RewrappedMetadata> {
  const envelope = await rewrapEnvelopeWith(sources, storedMetadata, options.from, options.to);
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

/** Whether an object's data key is already wrapped with the active source's current key (a rewrap would change nothing). */
export function isWrappedWithActiveKek(sources: KeySources, info: Pick<SealedObjectInfo, 'kek'>): boolean {
  const { active } = sources;
  return info.kek.keyringId === active.id && active.isActiveVersion(info.kek.version);
}
