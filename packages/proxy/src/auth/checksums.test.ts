import { describe, expect, it } from '@jest/globals';
import { isS3Error } from '../s3/errors.js';
import {
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  createChecksum,
  parseChecksumValue,
  parseContentMd5,
} from './checksums.js';
import type { ChecksumAlgorithm } from './types.js';

const CHECK = Buffer.from('123456789');

// The "check" values of each algorithm's catalogue entry (input "123456789"), plus SHA-1/SHA-256.
const KNOWN: Record<ChecksumAlgorithm, string> = {
  CRC32: 'cbf43926',
  CRC32C: 'e3069283',
  CRC64NVME: 'ae8b14860a799888',
  SHA1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
  SHA256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
};

async function digestInPieces(algorithm: ChecksumAlgorithm, data: Buffer, cut: number): Promise<string> {
  const checksum = createChecksum(algorithm);
  checksum.update(data.subarray(0, cut));
  checksum.update(data.subarray(cut));
  return (await checksum.digest()).toString('hex');
}

describe('checksums', () => {
  for (const algorithm of Object.keys(KNOWN) as ChecksumAlgorithm[]) {
    it(`${algorithm} of "123456789" is the catalogue value, however the input is split`, async () => {
      for (const cut of [0, 1, 4, 9]) {
        expect(await digestInPieces(algorithm, CHECK, cut)).toBe(KNOWN[algorithm]);
      }
    });
  }

  it('CRC32 of what the AWS SDK sent for "hello world" is its x-amz-checksum-crc32', async () => {
    const crc = createChecksum('CRC32');
    crc.update(Buffer.from('hello world'));
    expect((await crc.digest()).toString('base64')).toBe('DUoRhQ==');
  });

  it('CRC32C of 66560 "a" is the value in the AWS trailer example', async () => {
    const crc = createChecksum('CRC32C');
    crc.update(Buffer.alloc(66560, 'a'));
    expect((await crc.digest()).toString('base64')).toBe('sOO8/Q==');
  });

  it('maps header names both ways and ignores the non-value headers', () => {
    expect(checksumAlgorithmOfHeader('x-amz-checksum-crc64nvme')).toBe('CRC64NVME');
    expect(checksumAlgorithmOfHeader('X-Amz-Checksum-SHA1')).toBe('SHA1');
    expect(checksumAlgorithmOfHeader('x-amz-checksum-mode')).toBeUndefined();
    expect(checksumAlgorithmOfHeader('x-amz-checksum-type')).toBeUndefined();
    expect(checksumHeaderName('CRC32C')).toBe('x-amz-checksum-crc32c');
  });

  it('refuses checksum values that are not base64 of the right size', () => {
    expect(parseChecksumValue('CRC32', 'DUoRhQ==').toString('hex')).toBe('0d4a1185');
    for (const bad of ['DUoRhQ', 'DUoRhQ==DUoRhQ==', 'AAAAAAAAAAA=', '%%%%', '']) {
      let caught: unknown;
      try {
        parseChecksumValue('CRC32', bad);
      } catch (err: unknown) {
        caught = err;
      }
      expect(isS3Error(caught, 'InvalidRequest')).toBe(true);
    }
  });

  it('Content-MD5 must be base64 of 16 bytes, else InvalidDigest', () => {
    expect(parseContentMd5('XrY7u+Ae7tCTyyK7j1rNww==').toString('hex')).toBe(
      '5eb63bbbe01eeed093cb22bb8f5acdc3',
    );
    for (const bad of ['5eb63bbbe01eeed093cb22bb8f5acdc3', 'XrY7u+Ae7tCTyyK7', 'not base64!']) {
      expect(() => parseContentMd5(bad)).toThrow(expect.objectContaining({ code: 'InvalidDigest' }));
    }
  });
});
