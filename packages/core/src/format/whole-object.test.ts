import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { makeKeyring, md5, runInPieces, sealMultipart } from '../test-support/objects.js';
import { sealBuffer } from './buffers.js';
import { openEnvelope } from './envelope.js';
import { sealedSize } from './sizes.js';
import { createObjectDecryptStream, createSingleEncryptStream, storedObjectLayout } from './whole-object.js';

const keyring = makeKeyring();

describe('whole-object streams', () => {
  it('seal a single PUT and open it again', async () => {
    const plaintext = randomBytes(1000);
    const { envelope, encrypt } = createSingleEncryptStream(keyring, {
      objectKey: 'k',
      plaintextSize: plaintext.length,
      chunkSize: 64,
      plaintextMd5: md5(plaintext),
    });
    const sealed = await runInPieces(encrypt, plaintext);
    expect(sealed.length).toBe(sealedSize(1000, 64));
    const { info, dek } = openEnvelope(keyring, envelope.metadata, 'k');
    const layout = storedObjectLayout(info);
    expect(layout.sealedSize).toBe(sealed.length);
    await expect(runInPieces(createObjectDecryptStream(info, dek, layout), sealed)).resolves.toEqual(
      plaintext,
    );
  });

  it('open a multipart object laid out from its parts’ stored sizes', async () => {
    const parts = [randomBytes(128), randomBytes(128), randomBytes(5)];
    const object = await sealMultipart(keyring, parts, { objectKey: 'm', chunkSize: 64 });
    const { info, dek } = openEnvelope(keyring, object.metadata, 'm');
    const layout = storedObjectLayout(
      info,
      object.layout.segments.map((s) => s.sealedSize),
    );
    expect(layout).toEqual(object.layout);
    await expect(runInPieces(createObjectDecryptStream(info, dek, layout), object.sealed)).resolves.toEqual(
      Buffer.concat(parts),
    );
  });

  it('fail on a flipped byte, a truncation and an impossible part size', async () => {
    const sealed = await sealBuffer(keyring, randomBytes(300), { objectKey: 'k', chunkSize: 64 });
    const { info, dek } = openEnvelope(keyring, sealed.metadata, 'k');
    const layout = storedObjectLayout(info);
    const flipped = Buffer.from(sealed.sealed);
    flipped[100]! ^= 1;
    await expect(runInPieces(createObjectDecryptStream(info, dek, layout), flipped)).rejects.toMatchObject({
      code: 'S3SEAL_CIPHERTEXT_INVALID',
    });
    await expect(
      runInPieces(createObjectDecryptStream(info, dek, layout), sealed.sealed.subarray(0, 200)),
    ).rejects.toMatchObject({ code: 'S3SEAL_CIPHERTEXT_INVALID' });
    expect(() =>
      storedObjectLayout({ layout: 'multipart', chunkSize: 64, plaintextSize: undefined }, [40]),
    ).toThrow(expect.objectContaining({ code: 'S3SEAL_CIPHERTEXT_INVALID' }));
  });
});
