import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Keyring } from '../keyring/keyring.js';
import { algorithmByName, DEFAULT_ALGORITHM } from './algorithms.js';
import type { AlgorithmName } from './algorithms.js';
import { DEK_BYTES, deriveSegmentKey, deriveWrapKey, unwrapDek, wrapDek } from './keys.js';
import { bindingDigest, decodeMetadata, encodeMetadata } from './metadata.js';
import type { Layout, SealedObjectInfo } from './metadata.js';
import { PART_SALT_BYTES } from './part-header.js';
import type { PartHeader } from './part-header.js';
import { assertChunkSize, DEFAULT_CHUNK_SIZE } from './sizes.js';

export type RandomBytes = (size: number) => Buffer;

export interface SealOptions {
  readonly objectKey: string;
  readonly layout: Layout;
  /** Required for `single`, absent for `multipart`. */
  readonly plaintextSize?: number;
  readonly plaintextMd5?: Buffer;
  readonly algorithm?: AlgorithmName;
  readonly chunkSize?: number;
  /** Bind the data key to the object key (default true; see docs/FORMAT.md). */
  readonly bindObjectKey?: boolean;
}

/** A fresh object's data key and the metadata that lets a reader recover it. */
export interface SealedEnvelope {
  readonly info: SealedObjectInfo;
  /** To store as `x-amz-meta-<name>` headers. */
  readonly metadata: Record<string, string>;
  readonly dek: Buffer;
}

/**
 * Starts a new object: a random 256-bit DEK, wrapped with the keyring's active KEK under a
 * key derived from everything the metadata states about the object.
 */
export function sealEnvelope(
  keyring: Keyring,
  options: SealOptions,
  randomBytes: RandomBytes = cryptoRandomBytes,
): SealedEnvelope {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  assertChunkSize(chunkSize);
  const partial = {
    algorithm: algorithmByName(options.algorithm ?? DEFAULT_ALGORITHM),
    chunkSize,
    layout: options.layout,
    plaintextSize: options.layout === 'single' ? (options.plaintextSize ?? 0) : undefined,
    plaintextMd5: options.plaintextMd5,
    isKeyBound: options.bindObjectKey ?? true,
  };
  const active = keyring.active();
  const dek = randomBytes(DEK_BYTES);
  const wrapKey = deriveWrapKey(active.key, bindingDigest(partial, options.objectKey));
  const info: SealedObjectInfo = {
    ...partial,
    kek: active.ref,
    wrap: 'kwp',
    wrappedDek: wrapDek(wrapKey, dek),
  };
  return { info, metadata: encodeMetadata(info), dek };
}

/** Recovers an object's DEK from its metadata; fails closed on any inconsistency. */
export function openEnvelope(
  keyring: Keyring,
  userMetadata: Readonly<Record<string, string>>,
  objectKey: string,
): { info: SealedObjectInfo; dek: Buffer } {
  const info = decodeMetadata(userMetadata);
  return { info, dek: unwrapInfo(keyring, info, objectKey) };
}

function unwrapInfo(keyring: Keyring, info: SealedObjectInfo, objectKey: string): Buffer {
  const kek = keyring.get(info.kek);
  return unwrapDek(deriveWrapKey(kek, bindingDigest(info, objectKey)), info.wrappedDek);
}

/**
 * Re-wraps an object's DEK under the keyring's active KEK, and optionally for another object
 * key (a server-side copy or rename). The data is untouched; only metadata changes.
 */
export function rewrapEnvelope(
  keyring: Keyring,
  userMetadata: Readonly<Record<string, string>>,
  fromObjectKey: string,
  toObjectKey: string = fromObjectKey,
): SealedEnvelope {
  const { info, dek } = openEnvelope(keyring, userMetadata, fromObjectKey);
  const active = keyring.active();
  const wrapKey = deriveWrapKey(active.key, bindingDigest(info, toObjectKey));
  const next: SealedObjectInfo = { ...info, kek: active.ref, wrappedDek: wrapDek(wrapKey, dek) };
  return { info: next, metadata: encodeMetadata(next), dek };
}

/** The key that seals a single-PUT body. */
export function singleSegmentKey(info: SealedObjectInfo, dek: Buffer): KeyObject {
  return deriveSegmentKey(dek, info.algorithm, 0);
}

/** The key that seals one multipart part, given its header. */
export function partSegmentKey(info: SealedObjectInfo, dek: Buffer, header: PartHeader): KeyObject {
  return deriveSegmentKey(dek, info.algorithm, header.partNumber, header.salt);
}

/** A fresh header for one upload attempt of a part (a retry gets a new salt). */
export function newPartHeader(partNumber: number, randomBytes: RandomBytes = cryptoRandomBytes): PartHeader {
  return { partNumber, salt: randomBytes(PART_SALT_BYTES) };
}
