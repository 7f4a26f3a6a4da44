import type { KeyObject } from 'node:crypto';
import { METADATA_PREFIX, openEnvelope, singleSegmentKey } from '@s3seal/core';
import type { Keyring, SealedObjectInfo } from '@s3seal/core';

/** An object's unwrapped data key, and the key of its single segment (a single-PUT object). */
export interface OpenedKeys {
  readonly info: SealedObjectInfo;
  readonly dek: Buffer;
  /** Derived on first use: multipart objects key each part from its header instead. */
  readonly singleKey: () => KeyObject;
}

/**
 * Unwrapped data keys of recently read objects, so that reading a small object again costs no
 * HKDF, key unwrap and segment-key HKDF (~30–40 µs of a ~1 ms small GET).
 *
 * Safe to reuse because unwrapping is a pure function of what the key is built from: the KEK
 * (one cache per Keyring instance, so a reloaded keyring starts empty) and every s3seal
 * metadata field plus the object key (the binding digest and the wrapped key are computed from
 * those). An entry is found only when all of them are byte-for-byte equal, so an altered field
 * still fails to unwrap exactly as without the cache. Plaintext keys stay in this process's
 * memory only, never logged or persisted, at most MAX_ENTRIES of them, least recently used out
 * first; a keyring reload drops them all with the old Keyring.
 */
const MAX_ENTRIES = 1024;
const caches = new WeakMap<Keyring, Map<string, OpenedKeys>>();

export function openKeys(
  keyring: Keyring,
  metadata: Readonly<Record<string, string>>,
  objectKey: string,
): OpenedKeys {
  let cache = caches.get(keyring);
  if (cache === undefined) {
    cache = new Map();
    caches.set(keyring, cache);
  }
  const id = cacheId(metadata, objectKey);
  const found = cache.get(id);
  if (found !== undefined) {
    cache.delete(id);
    cache.set(id, found);
    return found;
  }
  const { info, dek } = openEnvelope(keyring, metadata, objectKey);
  let segmentKey: KeyObject | undefined;
  const opened: OpenedKeys = {
    info,
    dek,
    singleKey: () => (segmentKey ??= singleSegmentKey(info, dek)),
  };
  cache.set(id, opened);
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return opened;
}

/** Every s3seal field, name and value, in a fixed order, then the object key. */
function cacheId(metadata: Readonly<Record<string, string>>, objectKey: string): string {
  let id = '';
  for (const name of Object.keys(metadata).sort()) {
    if (name.startsWith(METADATA_PREFIX)) id += `${name}=${metadata[name]}\n`;
  }
  return `${id}\n${objectKey}`;
}
