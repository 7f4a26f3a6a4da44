import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { FORMAT_VERSION } from './version.js';
import { PART_HEADER_BYTES } from './sizes.js';

/** "S3SL": lets a reader (or a person with a hex dump) recognise a part. */
const MAGIC = Buffer.from('S3SL', 'latin1');
export const PART_SALT_BYTES = 20;

/**
 * The 32-byte header that starts every part of a multipart object:
 * magic(4) | version(1) | algorithm id(1) | reserved(2) = 0 | part number(u32 BE) | salt(20).
 * Nothing here is secret; it is authenticated because the segment key is derived from it.
 */
export interface PartHeader {
  readonly partNumber: number;
  readonly salt: Buffer;
}

export function encodePartHeader(algorithm: Algorithm, header: PartHeader): Buffer {
  if (header.salt.length !== PART_SALT_BYTES) {
    throw new CoreError('S3SEAL_FORMAT_ARGUMENT', `a part salt is ${PART_SALT_BYTES} bytes`);
  }
  if (!Number.isInteger(header.partNumber) || header.partNumber < 1 || header.partNumber > 10_000) {
    throw new CoreError('S3SEAL_FORMAT_ARGUMENT', `part number ${header.partNumber} is outside 1..10000`);
  }
  const out = Buffer.alloc(PART_HEADER_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt8(FORMAT_VERSION, 4);
  out.writeUInt8(algorithm.id, 5);
  out.writeUInt32BE(header.partNumber, 8);
  header.salt.copy(out, 12);
  return out;
}

export function decodePartHeader(algorithm: Algorithm, bytes: Buffer): PartHeader {
  if (
    bytes.length !== PART_HEADER_BYTES ||
    !bytes.subarray(0, 4).equals(MAGIC) ||
    bytes.readUInt8(4) !== FORMAT_VERSION ||
    bytes.readUInt8(5) !== algorithm.id ||
    bytes.readUInt16BE(6) !== 0
  ) {
    throw new CoreError('S3SEAL_CIPHERTEXT_INVALID', 'a part header is missing or malformed');
  }
  const partNumber = bytes.readUInt32BE(8);
  if (partNumber < 1 || partNumber > 10_000) {
    throw new CoreError('S3SEAL_CIPHERTEXT_INVALID', `a part header names part ${partNumber}`);
  }
  return { partNumber, salt: Buffer.from(bytes.subarray(12, PART_HEADER_BYTES)) };
}
