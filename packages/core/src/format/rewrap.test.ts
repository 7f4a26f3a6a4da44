import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../keyring/keyring.js';
import { isCoreError } from '../errors.js';
import { openBuffer, sealBuffer } from './buffers.js';
import { clientMetadataOf, isWrappedWithActiveKek, rewrapObjectMetadata } from './rewrap.js';
import { decodeMetadata } from './metadata.js';

const v1 = randomBytes(32);
const v2 = randomBytes(32);
const before = Keyring.fromKeys('default', new Map([['v1', v1]]), 'v1');
const rotated = Keyring.fromKeys(
  'default',
  new Map([
    ['v1', v1],
    ['v2', v2],
  ]),
  'v2',
);
const onlyV2 = Keyring.fromKeys('default', new Map([['v2', v2]]), 'v2');
const at = (key: string): { bucket: string; key: string } => ({ bucket: 'b', key });

describe('rewrapObjectMetadata', () => {
  it('moves the data key to the active KEK: the same sealed bytes open with the new version alone', async () => {
    const plaintext = Buffer.from('rotate me, but do not touch my bytes');
    const sealed = await sealBuffer(before, plaintext, { objectKey: 'a/b', chunkSize: 16 });
    const stored = { ...sealed.metadata, owner: 'team-a' };
    expect(isWrappedWithActiveKek(rotated, decodeMetadata(stored))).toBe(false);

    const { metadata, envelope } = await rewrapObjectMetadata(rotated, stored, { from: at('a/b') });
    expect(metadata['owner']).toBe('team-a');
    expect(metadata['s3seal-kek']).toBe('default:v2');
    expect(isWrappedWithActiveKek(rotated, envelope.info)).toBe(true);
    await expect(openBuffer(onlyV2, metadata, sealed.sealed, 'a/b')).resolves.toEqual(plaintext);
    await expect(openBuffer(onlyV2, stored, sealed.sealed, 'a/b')).rejects.toMatchObject({
      code: 'S3SEAL_KEY_VERSION_UNKNOWN',
    });
  });

  it('binds to the destination key of a copy, and stores the given client metadata instead', async () => {
    const sealed = await sealBuffer(before, Buffer.from('copied'), { objectKey: 'src' });
    const { metadata } = await rewrapObjectMetadata(rotated, sealed.metadata, {
      from: at('src'),
      to: at('dst'),
      clientMetadata: { replaced: 'yes' },
    });
    expect(Object.keys(metadata).filter((n) => !n.startsWith('s3seal-'))).toEqual(['replaced']);
    await expect(openBuffer(rotated, metadata, sealed.sealed, 'dst')).resolves.toEqual(Buffer.from('copied'));
    await expect(openBuffer(rotated, metadata, sealed.sealed, 'src')).rejects.toMatchObject({
      code: 'S3SEAL_KEY_UNWRAP_FAILED',
    });
  });

  it('fails with the stable code when the object names a version the keyring lacks', async () => {
    const sealed = await sealBuffer(before, Buffer.from('x'), { objectKey: 'k' });
    const caught = await rewrapObjectMetadata(onlyV2, sealed.metadata, { from: at('k') }).catch(
      (err: unknown) => err,
    );
    expect(isCoreError(caught, 'S3SEAL_KEY_VERSION_UNKNOWN')).toBe(true);
  });

  it('refuses client metadata that would not fit next to s3seal’s', async () => {
    const sealed = await sealBuffer(before, Buffer.from('x'), { objectKey: 'k' });
    await expect(
      rewrapObjectMetadata(rotated, sealed.metadata, {
        from: at('k'),
        clientMetadata: { big: 'x'.repeat(2000) },
      }),
    ).rejects.toMatchObject({ code: 'S3SEAL_METADATA_TOO_LARGE' });
  });
});

describe('clientMetadataOf', () => {
  it('drops every s3seal field and keeps the rest', () => {
    expect(clientMetadataOf({ 's3seal-v': '1', 'S3SEAL-x': 'y', a: 'b' })).toEqual({ a: 'b' });
  });
});
