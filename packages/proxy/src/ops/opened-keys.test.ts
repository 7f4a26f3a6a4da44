import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Keyring, sealEnvelope } from '@s3seal/core';
import type { KeySource, KeySources, WrapContext, WrappedDataKey } from '@s3seal/core';
import { OpenedKeysCache } from './opened-keys.js';

/** The keyring behind a counting, switchable facade: a key manager that can go down. */
class CountingSources implements KeySources {
  unwraps = 0;
  isDown = false;
  readonly active: KeySource;

  constructor(private readonly keyring: Keyring) {
    const unwrap = (key: WrappedDataKey, context: WrapContext): Promise<Buffer> => {
      this.unwraps += 1;
      if (this.isDown) return Promise.reject(new Error('down'));
      // Resolved later, as a network call would be, so concurrent opens overlap.
      return new Promise((resolve) => setImmediate(resolve)).then(() =>
        keyring.unwrapSync(key, context.bindingDigest),
      );
    };
    this.active = {
      id: keyring.id,
      scheme: 'kwp',
      wrap: (dek, context) => keyring.wrap(dek, context),
      unwrap,
      isActiveVersion: (v) => keyring.isActiveVersion(v),
    };
  }

  source(id: string): KeySource | undefined {
    return id === this.keyring.id ? this.active : undefined;
  }
}

const keyring = Keyring.fromKeys('default', new Map([['v1', randomBytes(32)]]), 'v1');
const object = (key: string) => sealEnvelope(keyring, { objectKey: key, layout: 'single', plaintextSize: 1 });
const at = (key: string, bucket = 'b') => ({ bucket, key });

describe('OpenedKeysCache', () => {
  it('unwraps a hot object once, shares one unwrap between concurrent reads, and expires entries', async () => {
    let now = 0;
    const cache = new OpenedKeysCache({ ttlMs: 1000, maxEntries: 10, now: () => now });
    const sources = new CountingSources(keyring);
    const a = object('a');
    const opened = await Promise.all([1, 2, 3].map(() => cache.open(sources, a.metadata, at('a'))));
    expect(sources.unwraps).toBe(1);
    expect(opened.every((o) => o.dek.equals(a.dek))).toBe(true);
    now = 999;
    await cache.open(sources, a.metadata, at('a'));
    expect(sources.unwraps).toBe(1);
    // Past the TTL the key manager is asked again: while it is down, the object no longer opens.
    now = 1000;
    sources.isDown = true;
    await expect(cache.open(sources, a.metadata, at('a'))).rejects.toThrow('down');
    sources.isDown = false;
    await cache.open(sources, a.metadata, at('a'));
    expect(sources.unwraps).toBe(3);
  });

  it('keys entries on the bucket, the object key and every s3seal field', async () => {
    const cache = new OpenedKeysCache({ ttlMs: 60_000, maxEntries: 10 });
    const sources = new CountingSources(keyring);
    const a = object('a');
    await cache.open(sources, a.metadata, at('a'));
    await cache.open(sources, a.metadata, at('a', 'other-bucket'));
    await expect(cache.open(sources, a.metadata, at('b'))).rejects.toMatchObject({
      code: 'S3SEAL_KEY_UNWRAP_FAILED',
    });
    await expect(cache.open(sources, { ...a.metadata, 's3seal-size': '2' }, at('a'))).rejects.toMatchObject({
      code: 'S3SEAL_KEY_UNWRAP_FAILED',
    });
    expect(sources.unwraps).toBe(4);
  });

  it('keeps at most maxEntries, least recently used out first, and does nothing when off', async () => {
    const cache = new OpenedKeysCache({ ttlMs: 60_000, maxEntries: 2 });
    const sources = new CountingSources(keyring);
    const [a, b, c] = ['a', 'b', 'c'].map(object);
    await cache.open(sources, a!.metadata, at('a'));
    await cache.open(sources, b!.metadata, at('b'));
    await cache.open(sources, a!.metadata, at('a'));
    await cache.open(sources, c!.metadata, at('c'));
    expect(sources.unwraps).toBe(3);
    await cache.open(sources, a!.metadata, at('a'));
    expect(sources.unwraps).toBe(3);
    await cache.open(sources, b!.metadata, at('b'));
    expect(sources.unwraps).toBe(4);

    const off = new OpenedKeysCache({ ttlMs: 0, maxEntries: 100 });
    await off.open(sources, a!.metadata, at('a'));
    await off.open(sources, a!.metadata, at('a'));
    expect(sources.unwraps).toBe(6);
  });
});
