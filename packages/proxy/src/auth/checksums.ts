/**
 * The integrity checksums a client can send with a body: Content-MD5 and the flexible
 * checksums (`x-amz-checksum-*` headers or the aws-chunked trailer), all over the plaintext.
 * Values travel as base64 of the big-endian digest.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { S3Error } from '../s3/errors.js';
import type { ChecksumAlgorithm } from './types.js';

const HEADER_NAME: Readonly<Record<ChecksumAlgorithm, string>> = {
  CRC32: 'x-amz-checksum-crc32',
  CRC32C: 'x-amz-checksum-crc32c',
  CRC64NVME: 'x-amz-checksum-crc64nvme',
  SHA1: 'x-amz-checksum-sha1',
  SHA256: 'x-amz-checksum-sha256',
};
const DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};
const ALGORITHM_OF_HEADER: ReadonlyMap<string, ChecksumAlgorithm> = new Map(
  (Object.keys(HEADER_NAME) as ChecksumAlgorithm[]).map((alg) => [HEADER_NAME[alg], alg]),
);

export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return HEADER_NAME[algorithm];
}

/** `x-amz-checksum-crc32` → 'CRC32'; undefined for any other name (x-amz-checksum-mode, -type...). */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  return ALGORITHM_OF_HEADER.get(name.toLowerCase());
}

/** A running checksum; `digest()` is async only because the CRC64NVME implementation is. */
export interface IncrementalChecksum {
  update(data: Uint8Array): void;
  digest(): Promise<Buffer>;
}

class Crc32Checksum implements IncrementalChecksum {
  private value = 0;
  update(data: Uint8Array): void {
    this.value = crc32(data, this.value);
  }
  digest(): Promise<Buffer> {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.value >>> 0);
    return Promise.resolve(out);
  }
}

class Crc32cChecksum implements IncrementalChecksum {
  private readonly crc = new Crc32c();
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  digest(): Promise<Buffer> {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.crc.digest() >>> 0);
    return Promise.resolve(out);
  }
}

class Crc64NvmeChecksum implements IncrementalChecksum {
  private readonly crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.crc.update(data);
  }
  async digest(): Promise<Buffer> {
    return Buffer.from(await this.crc.digest());
  }
}

class HashChecksum implements IncrementalChecksum {
  private readonly hash: Hash;
  constructor(algorithm: 'sha1' | 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Promise<Buffer> {
    return Promise.resolve(this.hash.digest());
  }
}

export function createChecksum(algorithm: ChecksumAlgorithm): IncrementalChecksum {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Checksum();
    case 'CRC32C':
      return new Crc32cChecksum();
    case 'CRC64NVME':
      return new Crc64NvmeChecksum();
    case 'SHA1':
      return new HashChecksum('sha1');
    case 'SHA256':
      return new HashChecksum('sha256');
  }
}

/** Strict base64 of exactly `bytes` bytes (re-encoding must give the same text back). */
function decodeBase64Digest(value: string, bytes: number): Buffer | undefined {
  const decoded = Buffer.from(value, 'base64');
  return decoded.length === bytes && decoded.toString('base64') === value ? decoded : undefined;
}

/** A client's checksum value; S3 answers InvalidRequest for one that is not base64 of the right size. */
export function parseChecksumValue(algorithm: ChecksumAlgorithm, value: string): Buffer {
  const decoded = decodeBase64Digest(value.trim(), DIGEST_BYTES[algorithm]);
  if (decoded === undefined) {
    throw new S3Error('InvalidRequest', `Value for ${HEADER_NAME[algorithm]} header is invalid.`);
  }
  return decoded;
}

/** Content-MD5: base64 of the 16-byte digest, else InvalidDigest (S3's code for a malformed one). */
export function parseContentMd5(value: string): Buffer {
  const decoded = decodeBase64Digest(value.trim(), 16);
  if (decoded === undefined)
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
  return decoded;
}

/** S3 answers BadDigest for a flexible checksum that does not match, header or trailer alike. */
export function checksumMismatch(algorithm: ChecksumAlgorithm): S3Error {
  return new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
}
