import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { isCoreError } from '../errors.js';
import { Keyring } from '../keyring/keyring.js';
import { makeKeyring, openMultipart, runInPieces, sealMultipart } from '../test-support/objects.js';
import { DecryptStream } from './decrypt-stream.js';
import { openEnvelope, singleSegmentKey } from './envelope.js';
import { describeLayout, planRead } from './layout.js';
import { openBuffer, sealBuffer } from './buffers.js';
import { TAG_BYTES } from './sizes.js';

const CHUNK = 32;
const SEALED_CHUNK = CHUNK + TAG_BYTES;

async function expectRejected(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err: unknown) {
    if (isCoreError(err)) return err.code;
    throw err;
  }
  throw new Error('tampering went undetected');
}

describe('tampering is detected', () => {
  const keyring = makeKeyring();
  const plaintext = randomBytes(100); // four chunks of 32: 32, 32, 32, 4

  it('every single-bit flip of the stored bytes', async () => {
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const copy = Buffer.from(sealed);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      expect(await expectRejected(openBuffer(keyring, metadata, copy, 'k'))).toBe(
        'S3SEAL_CIPHERTEXT_INVALID',
      );
    }
  });

  it('every single-bit flip of every metadata value', async () => {
    const md5 = randomBytes(16);
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, {
      objectKey: 'k',
      chunkSize: CHUNK,
      plaintextMd5: md5,
    });
    let flips = 0;
    for (const [name, value] of Object.entries(metadata)) {
      const bytes = Buffer.from(value, 'latin1');
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const altered = Buffer.from(bytes);
        altered[bit >> 3]! ^= 1 << (bit & 7);
        const code = await expectRejected(
          openBuffer(keyring, { ...metadata, [name]: altered.toString('latin1') }, sealed, 'k'),
        );
        expect(code).toMatch(
          /^S3SEAL_(METADATA_INVALID|KEY_UNWRAP_FAILED|CIPHERTEXT_INVALID|KEY_VERSION_UNKNOWN|KEYRING_MISMATCH)$/,
        );
        flips++;
      }
    }
    expect(flips).toBeGreaterThan(800);
  });

  it('a missing or an extra s3seal metadata field', async () => {
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    for (const name of Object.keys(metadata)) {
      const rest = { ...metadata };
      delete rest[name];
      await expectRejected(openBuffer(keyring, rest, sealed, 'k'));
    }
    expect(await expectRejected(openBuffer(keyring, { ...metadata, 's3seal-x': '1' }, sealed, 'k'))).toBe(
      'S3SEAL_METADATA_INVALID',
    );
  });

  it('truncation at and between chunk boundaries', async () => {
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    for (let length = 0; length < sealed.length; length++) {
      expect(await expectRejected(openBuffer(keyring, metadata, sealed.subarray(0, length), 'k'))).toBe(
        'S3SEAL_CIPHERTEXT_INVALID',
      );
    }
  });

  it('truncation that also rewrites the size field', async () => {
    // An attacker who drops the last chunk and fixes s3seal-size still fails: the size is bound
    // into the key wrap, and the new last chunk was not sealed as final.
    const exact = randomBytes(3 * CHUNK);
    const { metadata, sealed } = await sealBuffer(keyring, exact, { objectKey: 'k', chunkSize: CHUNK });
    const shorter = { ...metadata, 's3seal-size': String(2 * CHUNK) };
    await expectRejected(openBuffer(keyring, shorter, sealed.subarray(0, 2 * SEALED_CHUNK), 'k'));
  });

  it('an appended chunk', async () => {
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    const longer = Buffer.concat([sealed, sealed.subarray(0, SEALED_CHUNK)]);
    expect(await expectRejected(openBuffer(keyring, metadata, longer, 'k'))).toBe(
      'S3SEAL_CIPHERTEXT_INVALID',
    );
    // The stream itself refuses bytes past the planned end, whatever its caller checked.
    const { info, dek } = openEnvelope(keyring, metadata, 'k');
    const layout = describeLayout(CHUNK, [{ plaintextSize: plaintext.length, headerBytes: 0 }]);
    const key = singleSegmentKey(info, dek);
    const decrypt = new DecryptStream({
      algorithm: info.algorithm,
      layout,
      plan: planRead(layout),
      segmentKey: () => key,
    });
    expect(await expectRejected(runInPieces(decrypt, longer))).toBe('S3SEAL_CIPHERTEXT_INVALID');
  });

  it('reordered chunks', async () => {
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    const swapped = Buffer.concat([
      sealed.subarray(SEALED_CHUNK, 2 * SEALED_CHUNK),
      sealed.subarray(0, SEALED_CHUNK),
      sealed.subarray(2 * SEALED_CHUNK),
    ]);
    expect(await expectRejected(openBuffer(keyring, metadata, swapped, 'k'))).toBe(
      'S3SEAL_CIPHERTEXT_INVALID',
    );
  });

  it('a chunk spliced in from another object', async () => {
    const a = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    const b = await sealBuffer(keyring, plaintext, { objectKey: 'k', chunkSize: CHUNK });
    const spliced = Buffer.concat([a.sealed.subarray(0, SEALED_CHUNK), b.sealed.subarray(SEALED_CHUNK)]);
    expect(await expectRejected(openBuffer(keyring, a.metadata, spliced, 'k'))).toBe(
      'S3SEAL_CIPHERTEXT_INVALID',
    );
  });

  it('an object swapped under another key, when the key is bound', async () => {
    const a = await sealBuffer(keyring, plaintext, { objectKey: 'reports/a', chunkSize: CHUNK });
    expect(await expectRejected(openBuffer(keyring, a.metadata, a.sealed, 'reports/b'))).toBe(
      'S3SEAL_KEY_UNWRAP_FAILED',
    );
    const unbound = await sealBuffer(keyring, plaintext, {
      objectKey: 'reports/a',
      chunkSize: CHUNK,
      bindObjectKey: false,
    });
    expect((await openBuffer(keyring, unbound.metadata, unbound.sealed, 'reports/b')).equals(plaintext)).toBe(
      true,
    );
  });

  it('a chunk of one part moved into another part', async () => {
    const parts = [randomBytes(2 * CHUNK), randomBytes(2 * CHUNK)];
    const object = await sealMultipart(keyring, parts, { objectKey: 'mp', chunkSize: CHUNK });
    const partSize = object.layout.segments[0]!.sealedSize;
    const moved = Buffer.from(object.sealed);
    object.sealed.copy(moved, partSize + 32, 32, 32 + SEALED_CHUNK);
    await expect(openMultipart(keyring, { ...object, sealed: moved }, 'mp')).rejects.toMatchObject({
      code: 'S3SEAL_CIPHERTEXT_INVALID',
    });
  });
});

describe('keys', () => {
  it('a wrong KEK fails cleanly', async () => {
    const { metadata, sealed } = await sealBuffer(makeKeyring(), randomBytes(10), { objectKey: 'k' });
    expect(await expectRejected(openBuffer(makeKeyring(), metadata, sealed, 'k'))).toBe(
      'S3SEAL_KEY_UNWRAP_FAILED',
    );
  });

  it('a missing KEK version is named in the error', async () => {
    const writer = makeKeyring(['v1', 'v2']);
    const { metadata, sealed } = await sealBuffer(writer, randomBytes(10), { objectKey: 'k' });
    const reader = Keyring.fromKeys('default', new Map([['v1', randomBytes(32)]]), 'v1');
    await expect(openBuffer(reader, metadata, sealed, 'k')).rejects.toMatchObject({
      code: 'S3SEAL_KEY_VERSION_UNKNOWN',
      message: expect.stringContaining('v2') as unknown,
    });
  });

  it('any retained version decrypts after rotation', async () => {
    const v1 = randomBytes(32);
    const before = Keyring.fromKeys('default', new Map([['v1', v1]]), 'v1');
    const old = await sealBuffer(before, Buffer.from('old'), { objectKey: 'k' });
    const after = Keyring.fromKeys(
      'default',
      new Map([
        ['v1', v1],
        ['v2', randomBytes(32)],
      ]),
      'v2',
    );
    const fresh = await sealBuffer(after, Buffer.from('new'), { objectKey: 'k' });
    expect(fresh.metadata['s3seal-kek']).toBe('default:v2');
    expect((await openBuffer(after, old.metadata, old.sealed, 'k')).toString()).toBe('old');
    expect((await openBuffer(after, fresh.metadata, fresh.sealed, 'k')).toString()).toBe('new');
  });
});

describe('part order in ranged reads', () => {
  it('is checked from the first part of a slice that starts inside it', async () => {
    const keyring = makeKeyring();
    const parts = [randomBytes(100), randomBytes(100), randomBytes(100)];
    const object = await sealMultipart(keyring, parts, { objectKey: 'mp', chunkSize: 64 });
    // Store part 1 after part 2 (swap the first two parts), then read from inside the first.
    const [a, b] = [object.layout.segments[0]!, object.layout.segments[1]!];
    const swapped = Buffer.concat([
      object.sealed.subarray(b.sealedOffset, b.sealedOffset + b.sealedSize),
      object.sealed.subarray(a.sealedOffset, a.sealedOffset + a.sealedSize),
      object.sealed.subarray(b.sealedOffset + b.sealedSize),
    ]);
    const headers = [object.headers[1]!, object.headers[0]!, object.headers[2]!];
    await expect(
      openMultipart(keyring, { ...object, sealed: swapped, headers }, 'mp', { start: 70, end: 150 }),
    ).rejects.toMatchObject({ code: 'S3SEAL_CIPHERTEXT_INVALID' });
  });
});
