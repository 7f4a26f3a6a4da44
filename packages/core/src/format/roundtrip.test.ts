import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { makeKeyring, md5, openMultipart, runInPieces, sealMultipart } from '../test-support/objects.js';
import { openBuffer, sealBuffer } from './buffers.js';
import { DecryptStream } from './decrypt-stream.js';
import { EncryptStream } from './encrypt-stream.js';
import { openEnvelope, sealEnvelope, singleSegmentKey } from './envelope.js';
import { describeLayout, planRead } from './layout.js';
import { sealedSize } from './sizes.js';
import type { AlgorithmName } from './algorithms.js';

const C = 64 * 1024;
const ALGORITHMS: AlgorithmName[] = ['AES256GCM', 'CHACHA20POLY1305'];

/** Seal and open through the streams, fed in random pieces. */
async function roundTrip(plaintext: Buffer, chunkSize: number, algorithm: AlgorithmName): Promise<Buffer> {
  const keyring = makeKeyring();
  const envelope = sealEnvelope(keyring, {
    objectKey: 'bucket-key',
    layout: 'single',
    plaintextSize: plaintext.length,
    chunkSize,
    algorithm,
  });
  const sealed = await runInPieces(
    new EncryptStream({
      algorithm: envelope.info.algorithm,
      chunkSize,
      key: singleSegmentKey(envelope.info, envelope.dek),
      plaintextSize: plaintext.length,
    }),
    plaintext,
    chunkSize * 3,
  );
  expect(sealed.length).toBe(sealedSize(plaintext.length, chunkSize));
  if (plaintext.length >= 16) expect(sealed.includes(plaintext.subarray(0, 16))).toBe(false);
  const { info, dek } = openEnvelope(keyring, envelope.metadata, 'bucket-key');
  const layout = describeLayout(chunkSize, [{ plaintextSize: plaintext.length, headerBytes: 0 }]);
  const key = singleSegmentKey(info, dek);
  return runInPieces(
    new DecryptStream({ algorithm: info.algorithm, layout, plan: planRead(layout), segmentKey: () => key }),
    sealed,
    chunkSize * 3,
  );
}

describe('single-PUT round trips', () => {
  for (const algorithm of ALGORITHMS) {
    for (const size of [0, 1, C - 1, C, C + 1, 3 * C, 5 * 1024 * 1024 + 7]) {
      it(`${algorithm} ${size} bytes`, async () => {
        const plaintext = randomBytes(size);
        expect((await roundTrip(plaintext, C, algorithm)).equals(plaintext)).toBe(true);
      });
    }
  }

  it('holds for random sizes and chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 16, max: 4096 }),
        fc.constantFrom(...ALGORITHMS),
        async (size, chunkSize, algorithm) => {
          const plaintext = randomBytes(size);
          expect((await roundTrip(plaintext, chunkSize, algorithm)).equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stores the plaintext MD5 when the writer knows it', async () => {
    const keyring = makeKeyring();
    const plaintext = Buffer.from('hello, s3seal');
    const { metadata, sealed } = await sealBuffer(keyring, plaintext, {
      objectKey: 'k',
      plaintextMd5: md5(plaintext),
    });
    expect(metadata['s3seal-md5']).toBe(md5(plaintext).toString('hex'));
    expect((await openBuffer(keyring, metadata, sealed, 'k')).toString()).toBe('hello, s3seal');
  });

  it('refuses a body longer or shorter than declared', async () => {
    const keyring = makeKeyring();
    const envelope = sealEnvelope(keyring, { objectKey: 'k', layout: 'single', plaintextSize: 100 });
    const make = (): EncryptStream =>
      new EncryptStream({
        algorithm: envelope.info.algorithm,
        chunkSize: 32,
        key: singleSegmentKey(envelope.info, envelope.dek),
        plaintextSize: 100,
      });
    await expect(runInPieces(make(), randomBytes(99))).rejects.toMatchObject({
      code: 'S3SEAL_FORMAT_ARGUMENT',
    });
    await expect(runInPieces(make(), randomBytes(101))).rejects.toMatchObject({
      code: 'S3SEAL_FORMAT_ARGUMENT',
    });
  });
});

describe('multipart round trips', () => {
  it('decrypts parts of mixed sizes, including empty and unaligned ones', async () => {
    const keyring = makeKeyring();
    const parts = [randomBytes(5000), randomBytes(0), randomBytes(4096), randomBytes(123), randomBytes(1)];
    const object = await sealMultipart(keyring, parts, { objectKey: 'mp', chunkSize: 1024 });
    expect(object.sealed.length).toBe(object.layout.sealedSize);
    const whole = await openMultipart(keyring, object, 'mp');
    expect(whole.equals(Buffer.concat(parts))).toBe(true);
  });

  it('detects parts stored out of order', async () => {
    const keyring = makeKeyring();
    const parts = [randomBytes(100), randomBytes(100)];
    const object = await sealMultipart(keyring, parts, { objectKey: 'mp', chunkSize: 64 });
    const half = object.sealed.length / 2;
    const swapped = Buffer.concat([object.sealed.subarray(half), object.sealed.subarray(0, half)]);
    await expect(openMultipart(keyring, { ...object, sealed: swapped }, 'mp')).rejects.toMatchObject({
      code: 'S3SEAL_CIPHERTEXT_INVALID',
    });
  });

  it('gives a retried part a fresh salt, so no nonce is reused under the upload key', async () => {
    const keyring = makeKeyring();
    const a = await sealMultipart(keyring, [randomBytes(64)], { objectKey: 'mp', chunkSize: 64 });
    const b = await sealMultipart(keyring, [randomBytes(64)], { objectKey: 'mp', chunkSize: 64 });
    expect(a.headers[0]!.salt.equals(b.headers[0]!.salt)).toBe(false);
  });
});
