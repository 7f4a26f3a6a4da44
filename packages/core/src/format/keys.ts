import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';

export const DEK_BYTES = 32;
/** Length of a data key wrapped with AES-256 key wrap with padding (RFC 5649). */
export const WRAPPED_DEK_BYTES = 40;
/** RFC 5649 §3: the alternative initial value's fixed 32-bit prefix. */
const KWP_IV = Buffer.from('a65959a6', 'hex');

const WRAP_INFO_LABEL = Buffer.from('s3seal/1 wrap\0', 'latin1');
const SEGMENT_INFO_LABEL = Buffer.from('s3seal/1 segment\0', 'latin1');
const EMPTY = Buffer.alloc(0);

/**
 * The per-object key that wraps a DEK: HKDF-SHA256 of the KEK with the digest of the object's
 * bound metadata as info. Any change to a bound field (algorithm, chunk size, sizes, MD5,
 * object key) yields another wrapping key, so the DEK no longer unwraps: the metadata is
 * authenticated by the wrap itself, with no extra field to store.
 */
export function deriveWrapKey(kek: KeyObject, contextDigest: Buffer): KeyObject {
  const info = Buffer.concat([WRAP_INFO_LABEL, contextDigest]);
  return createSecretKey(Buffer.from(hkdfSync('sha256', kek, EMPTY, info, 32)));
}

/** AES-256-KWP (RFC 5649): deterministic, needs no nonce, so a long-lived KEK has no usage limit. */
export function wrapDek(wrapKey: KeyObject, dek: Buffer): Buffer {
  if (dek.length !== DEK_BYTES) throw new CoreError('S3SEAL_FORMAT_ARGUMENT', 'a data key is 32 bytes');
  const cipher = createCipheriv('id-aes256-wrap-pad', wrapKey, KWP_IV);
  return Buffer.concat([cipher.update(dek), cipher.final()]);
}

export function unwrapDek(wrapKey: KeyObject, wrapped: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('id-aes256-wrap-pad', wrapKey, KWP_IV);
    const dek = Buffer.concat([decipher.update(wrapped), decipher.final()]);
    if (dek.length !== DEK_BYTES) throw new Error(`unwrapped ${dek.length} bytes`);
    return dek;
  } catch (err: unknown) {
    // OpenSSL reports a failed integrity check in several ways; all mean the same to a caller.
    throw new CoreError(
      'S3SEAL_KEY_UNWRAP_FAILED',
      'the data key did not unwrap: wrong key-encryption key, or the object metadata was altered',
      { cause: err },
    );
  }
}

/**
 * The key that seals one segment's chunks: HKDF-SHA256(DEK, salt, "s3seal/1 segment" ||
 * algorithm id || part number). A single-PUT object uses part number 0 and no salt (its DEK
 * is fresh). Multipart parts share the upload's DEK, so each part carries a random salt: a
 * part uploaded twice, even with other content, never reuses a (key, nonce) pair.
 */
export function deriveSegmentKey(
  dek: Buffer,
  algorithm: Algorithm,
  partNumber: number,
  salt: Buffer = EMPTY,
): KeyObject {
  const info = Buffer.alloc(SEGMENT_INFO_LABEL.length + 5);
  SEGMENT_INFO_LABEL.copy(info, 0);
  info.writeUInt8(algorithm.id, SEGMENT_INFO_LABEL.length);
  info.writeUInt32BE(partNumber, SEGMENT_INFO_LABEL.length + 1);
  // A KeyObject input: Node checks a raw Buffer key by throwing (and catching) twice, which
  // costs more than the HKDF itself.
  return createSecretKey(Buffer.from(hkdfSync('sha256', createSecretKey(dek), salt, info, 32)));
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}
