import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { makeKeyring } from '../test-support/objects.js';
import { sealEnvelope } from './envelope.js';
import {
  assertClientMetadataFits,
  decodeMetadata,
  isSealedMetadata,
  USER_METADATA_LIMIT_BYTES,
  userMetadataBytes,
} from './metadata.js';

describe('object metadata', () => {
  const sealed = sealEnvelope(makeKeyring(), {
    objectKey: 'k',
    layout: 'single',
    plaintextSize: 12345,
    plaintextMd5: randomBytes(16),
  }).metadata;

  it('round-trips and stays small', () => {
    expect(isSealedMetadata(sealed)).toBe(true);
    expect(isSealedMetadata({ 'content-owner': 'x' })).toBe(false);
    expect(decodeMetadata(sealed).plaintextSize).toBe(12345);
    // Leaves most of S3's 2 KiB to the client.
    expect(userMetadataBytes(sealed)).toBeLessThan(300);
  });

  it('lets a client use the rest of the 2 KiB and no more', () => {
    const room = USER_METADATA_LIMIT_BYTES - userMetadataBytes(sealed);
    expect(() => assertClientMetadataFits({ note: 'x'.repeat(room - 4) }, sealed)).not.toThrow();
    expect(() => assertClientMetadataFits({ note: 'x'.repeat(room - 3) }, sealed)).toThrow(
      expect.objectContaining({ code: 'S3SEAL_METADATA_TOO_LARGE' }),
    );
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(userMetadataBytes({ k: 'é' })).toBe(3);
  });

  it('reserves its prefix', () => {
    expect(() => assertClientMetadataFits({ 'S3Seal-v': '2' }, sealed)).toThrow(
      expect.objectContaining({ code: 'S3SEAL_METADATA_RESERVED' }),
    );
  });

  it.each([
    ['a non-canonical size', { 's3seal-size': '012345' }],
    ['an upper-case MD5', { 's3seal-md5': 'A'.repeat(32) }],
    ['an unknown version', { 's3seal-v': '2' }],
    ['an unknown algorithm', { 's3seal-alg': 'AES128GCM' }],
    ['a chunk size out of bounds', { 's3seal-chunk': '1' }],
    ['a padded wrapped key', { 's3seal-dek': `${sealed['s3seal-dek']}=` }],
  ])('rejects %s', (_why, change) => {
    expect(() => decodeMetadata({ ...sealed, ...change })).toThrow(
      expect.objectContaining({ code: 'S3SEAL_METADATA_INVALID' }),
    );
  });
});
