import type { KeyObject } from 'node:crypto';
import { METADATA_PREFIX, openEnvelopeWith, singleSegmentKey } from '@s3seal/core';
import type { KeySources, ObjectLocation, SealedObjectInfo } from '@s3seal/core';

/** An object's unwrapped data key, and the key of its single segment (a single-PUT object). */
export interface OpenedKeys {
  readonly info: SealedObjectInfo;
  readonly dek: Buffer;
  /** Derived on first use: multipart objects key each part from its header instead. */
  readonly singleKey: () => KeyObject;
}

export interface OpenedKeysCacheOptions {
  /** How long an entry is used; 0 turns the cache off. */
  readonly ttlMs: number;
  /** Most entries kept, least recently used out first; 0 turns the cache off. */
  readonly maxEntries: number;
  readonly now?: () => number;
}

interface Entry {
  readonly opened: Promise<OpenedKeys>;
  readonly expiresAt: number;
}

/**
 * Unwrapped data keys of recently read objects (and uploads in flight), so a hot object costs
 * no key-manager call (Vault, KMS: a network round trip) and, with the local keyring, no HKDF
 * and key unwrap (~30–40 µs of a ~1 ms small GET) per read.
 *
 * Safe to reuse because unwrapping is a pure function of what the key is built from: the key
 * sources (one cache per KeySources instance, so a reloaded keyring starts empty), every s3seal
 * metadata field, the bucket and the object key. An entry is found only when all of them are
 * byte-for-byte equal, so an altered field still fails to unwrap exactly as without the cache.
 * Concurrent reads of one object share one unwrap; a failed unwrap is not kept.
 *
 * Plaintext keys stay in this process's memory only, never logged or persisted; an entry is
 * used for `ttlMs` at most, which is also how long objects stay readable while their key
 * manager is down.
 */
export class OpenedKeysCache {
  private readonly entries = new WeakMap<KeySources, Map<string, Entry>>();
  private readonly now: () => number;
  readonly isEnabled: boolean;

  constructor(private readonly options: OpenedKeysCacheOptions) {
    this.now = options.now ?? Date.now;
    this.isEnabled = options.ttlMs > 0 && options.maxEntries > 0;
  }

  open(
    sources: KeySources,
    metadata: Readonly<Record<string, string>>,
    location: ObjectLocation,
  ): Promise<OpenedKeys> {
    if (!this.isEnabled) return unwrap(sources, metadata, location);
    let cache = this.entries.get(sources);
    if (cache === undefined) {
      cache = new Map();
      this.entries.set(sources, cache);
    }
    const id = cacheId(metadata, location);
    const now = this.now();
    const found = cache.get(id);
    if (found !== undefined) {
      cache.delete(id);
      if (found.expiresAt > now) {
        cache.set(id, found);
        return found.opened;
      }
    }
    const opened = unwrap(sources, metadata, location);
    const entry: Entry = { opened, expiresAt: now + this.options.ttlMs };
    cache.set(id, entry);
    if (cache.size > this.options.maxEntries) cache.delete(cache.keys().next().value!);
    // A failure (key manager down, tampered metadata) is answered, not remembered.
    opened.catch(() => {
      if (cache.get(id) === entry) cache.delete(id);
    });
    return opened;
  }
}

async function unwrap(
  sources: KeySources,
  metadata: Readonly<Record<string, string>>,
  location: ObjectLocation,
): Promise<OpenedKeys> {
  const { info, dek } = await openEnvelopeWith(sources, metadata, location);
  let segmentKey: KeyObject | undefined;
  return { info, dek, singleKey: () => (segmentKey ??= singleSegmentKey(info, dek)) };
}

/** Every s3seal field, name and value, in a fixed order, then the bucket and object key. */
function cacheId(metadata: Readonly<Record<string, string>>, location: ObjectLocation): string {
  let id = '';
  for (const name of Object.keys(metadata).sort()) {
    if (name.startsWith(METADATA_PREFIX)) id += `${name}=${metadata[name]}\n`;
  }
  return `${id}\n${location.bucket}\n${location.key}`;
}
