import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { TAG_BYTES } from './sizes.js';

/**
 * Seals and opens single chunks. Per chunk i of a segment:
 *   nonce = 0x00000000 || u64be(i)          (unique: the segment key is fresh per segment)
 *   aad   = u64be(i) || u8(final ? 1 : 0)   (binds position and end-of-segment)
 * The nonce and AAD buffers are reused: Node copies both into OpenSSL before returning.
 */
export class ChunkCipher {
  private readonly nonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(9);
  private readonly options = { authTagLength: TAG_BYTES } as const;
  /** Node types the two AEADs with separate overloads; both take these options and API. */
  private readonly cipherName: 'aes-256-gcm';

  constructor(
    algorithm: Algorithm,
    private readonly key: KeyObject,
  ) {
    this.cipherName = algorithm.cipher as 'aes-256-gcm';
  }

  /** Returns ciphertext and tag in one buffer (one write downstream, not two). */
  seal(index: number, isFinal: boolean, plaintext: Buffer): Buffer {
    this.position(index, isFinal);
    const cipher = createCipheriv(this.cipherName, this.key, this.nonce, this.options);
    cipher.setAAD(this.aad);
    const out = Buffer.allocUnsafe(plaintext.length + TAG_BYTES);
    const body = cipher.update(plaintext);
    body.copy(out, 0);
    cipher.final();
    cipher.getAuthTag().copy(out, plaintext.length);
    return out;
  }

  /** Opens `sealed` (ciphertext || tag); nothing is returned unless the tag verifies. */
  open(index: number, isFinal: boolean, sealed: Buffer): Buffer {
    if (sealed.length < TAG_BYTES) throw tampered(index);
    this.position(index, isFinal);
    const split = sealed.length - TAG_BYTES;
    const decipher = createDecipheriv(this.cipherName, this.key, this.nonce, this.options);
    decipher.setAAD(this.aad);
    decipher.setAuthTag(sealed.subarray(split));
    const plaintext = decipher.update(sealed.subarray(0, split));
    try {
      decipher.final();
    } catch (err: unknown) {
      throw tampered(index, err);
    }
    return plaintext;
  }

  private position(index: number, isFinal: boolean): void {
    // Two u32 writes: no BigInt allocation per chunk. Indexes stay far below 2^53.
    const high = Math.floor(index / 0x1_0000_0000);
    const low = index >>> 0;
    this.nonce.writeUInt32BE(high, 4);
    this.nonce.writeUInt32BE(low, 8);
    this.aad.writeUInt32BE(high, 0);
    this.aad.writeUInt32BE(low, 4);
    this.aad.writeUInt8(isFinal ? 1 : 0, 8);
  }
}

function tampered(index: number, cause?: unknown): CoreError {
  return new CoreError(
    'S3SEAL_CIPHERTEXT_INVALID',
    `chunk ${index} failed authentication: the stored object was altered, truncated, reordered or is not this object`,
    { cause },
  );
}
