import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { KeySource, KeySources, WrapContext, WrappedDataKey } from '../keyring/key-source.js';
import type { Keyring } from '../keyring/keyring.js';
import { algorithmByName, DEFAULT_ALGORITHM } from './algorithms.js';
import type { AlgorithmName } from './algorithms.js';
import { DEK_BYTES, deriveSegmentKey } from './keys.js';
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

/** Where an object is (or will be) stored: what its data key is bound to. */
export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
}

type Described = Omit<SealedObjectInfo, 'kek' | 'wrap' | 'wrappedDek'>;

/** Everything the metadata states about a new object, before its key is wrapped. */
function describe(options: SealOptions): Described {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  assertChunkSize(chunkSize);
  return {
    algorithm: algorithmByName(options.algorithm ?? DEFAULT_ALGORITHM),
    chunkSize,
    layout: options.layout,
    plaintextSize: options.layout === 'single' ? (options.plaintextSize ?? 0) : undefined,
    plaintextMd5: options.plaintextMd5,
    isKeyBound: options.bindObjectKey ?? true,
  };
}

function envelopeOf(
  described: Described,
  source: KeySource,
  key: WrappedDataKey,
  dek: Buffer,
): SealedEnvelope {
  const info: SealedObjectInfo = {
    ...described,
    kek: { keyringId: source.id, version: key.version },
    wrap: source.scheme,
    wrappedDek: key.wrapped,
  };
  return { info, metadata: encodeMetadata(info), dek };
}

/**
 * Starts a new object: a random 256-bit DEK, wrapped with the keyring's active KEK under a
 * key derived from everything the metadata states about the object. Synchronous: the local
 * keyring only (tools and test vectors); the proxy uses {@link sealEnvelopeWith}.
 */
export function sealEnvelope(
  keyring: Keyring,
  options: SealOptions,
  randomBytes: RandomBytes = cryptoRandomBytes,
): SealedEnvelope {
  const described = describe(options);
  const dek = randomBytes(DEK_BYTES);
  return envelopeOf(
    described,
    keyring,
    keyring.wrapSync(dek, bindingDigest(described, options.objectKey)),
    dek,
  );
}

/**
 * Starts a new object with the active key source of `sources`, which may be a key manager
 * across the network (its errors fail the write: there is no unencrypted fallback).
 */
export async function sealEnvelopeWith(
  sources: KeySources,
  bucket: string,
  options: SealOptions,
  randomBytes: RandomBytes = cryptoRandomBytes,
): Promise<SealedEnvelope> {
  const described = describe(options);
  const source = sources.active;
  const context: WrapContext = { bucket, bindingDigest: bindingDigest(described, options.objectKey) };
  if (source.generate) {
    const generated = await source.generate(context);
    return envelopeOf(described, source, generated, generated.dek);
  }
  const dek = randomBytes(DEK_BYTES);
  return envelopeOf(described, source, await source.wrap(dek, context), dek);
}

/** Recovers an object's DEK from its metadata; fails closed on any inconsistency. */
export function openEnvelope(
  keyring: Keyring,
  userMetadata: Readonly<Record<string, string>>,
  objectKey: string,
): { info: SealedObjectInfo; dek: Buffer } {
  const info = decodeMetadata(userMetadata);
  sourceOf(keyring, info);
  return { info, dek: keyring.unwrapSync(wrappedOf(info), bindingDigest(info, objectKey)) };
}

/** Recovers an object's DEK with whichever of `sources` wrapped it. */
export async function openEnvelopeWith(
  sources: KeySources,
  userMetadata: Readonly<Record<string, string>>,
  location: ObjectLocation,
): Promise<{ info: SealedObjectInfo; dek: Buffer }> {
  const info = decodeMetadata(userMetadata);
  const source = sourceOf(sources, info);
  const dek = await source.unwrap(wrappedOf(info), contextOf(info, location));
  return { info, dek };
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
  return envelopeOf(info, keyring, keyring.wrapSync(dek, bindingDigest(info, toObjectKey)), dek);
}

/**
 * Re-wraps an object's DEK with the active source of `sources` (a rotated key, another key
 * manager), and for another location when copied. When the object stays where it is and its
 * source can re-wrap by itself (Vault Transit `rewrap`), the data key never leaves the key
 * manager; the returned envelope then has no `dek` (an empty buffer).
 */
export async function rewrapEnvelopeWith(
  sources: KeySources,
  userMetadata: Readonly<Record<string, string>>,
  from: ObjectLocation,
  to: ObjectLocation = from,
): Promise<SealedEnvelope> {
  const info = decodeMetadata(userMetadata);
  const source = sourceOf(sources, info);
  const fromContext = contextOf(info, from);
  const toContext = contextOf(info, to);
  const active = sources.active;
  if (active === source && source.rewrap && sameContext(fromContext, toContext)) {
    return envelopeOf(info, source, await source.rewrap(wrappedOf(info), fromContext), Buffer.alloc(0));
  }
  const dek = await source.unwrap(wrappedOf(info), fromContext);
  return envelopeOf(info, active, await active.wrap(dek, toContext), dek);
}

function wrappedOf(info: SealedObjectInfo): WrappedDataKey {
  return { version: info.kek.version, wrapped: info.wrappedDek };
}

function contextOf(info: SealedObjectInfo, location: ObjectLocation): WrapContext {
  return { bucket: location.bucket, bindingDigest: bindingDigest(info, location.key) };
}

function sameContext(a: WrapContext, b: WrapContext): boolean {
  return a.bucket === b.bucket && a.bindingDigest.equals(b.bindingDigest);
}

/** The source that sealed an object, with an error that says what to configure when it is missing. */
function sourceOf(sources: KeySources, info: SealedObjectInfo): KeySource {
  const source = sources.source(info.kek.keyringId);
  if (source === undefined) {
    throw new CoreError(
      'S3SEAL_KEYRING_MISMATCH',
      `the object's data key was wrapped by key source ${info.kek.keyringId} (${info.wrap}), which this proxy does not know (it seals with ${sources.active.id}); add that key source to the configuration`,
    );
  }
  if (source.scheme !== info.wrap) {
    throw new CoreError(
      'S3SEAL_KEYRING_MISMATCH',
      `key source ${source.id} is ${source.scheme}, but the object says its data key was wrapped by ${info.wrap}`,
    );
  }
  return source;
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
