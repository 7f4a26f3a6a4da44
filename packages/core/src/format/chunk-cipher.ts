import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherGCM, DecipherGCM, KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { TAG_BYTES } from './sizes.js';

/**
 * Starts the AEAD of single chunks. Per chunk i of a segment:
 *   nonce = 0x00000000 || u64be(i)          (unique: the segment key is fresh per segment)
 *   aad   = u64be(i) || u8(final ? 1 : 0)   (binds position and end-of-segment)
 * The nonce and AAD buffers are reused: Node copies both into OpenSSL before returning.
 *
 * The caller feeds a chunk with `update()` as its bytes arrive (any number of pieces), so no
 * chunk is ever gathered or copied: GCM is a stream mode, each piece's output is its length.
 */
export class ChunkCipher {
  private readonly nonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(9);
  private readonly options = { authTagLength: TAG_BYTES } as const;
  /** Node types the two AEADs with separate overloads; both take these options and API. */
  private readonly cipherName: 'aes-256-gcm';

  constructor(
    algorithm: Algorithm,
    /** A KeyObject, not raw bytes: Node checks a Buffer key by throwing, ~10–20 µs per cipher. */
    private readonly key: KeyObject,
  ) {
    this.cipherName = algorithm.cipher as 'aes-256-gcm';
  }

  /** Seals chunk `index`: `update()` each piece of its plaintext, then `final()`; the tag follows the ciphertext. */
  sealer(index: number, isFinal: boolean): CipherGCM {
    this.position(index, isFinal);
    const cipher = createCipheriv(this.cipherName, this.key, this.nonce, this.options);
    cipher.setAAD(this.aad);
    return cipher;
  }

  /**
   * Opens chunk `index`: `update()` each piece of its ciphertext, then `setAuthTag()` and
   * `final()`, which throws when the chunk does not authenticate. Nothing `update()` returned
   * may be released before `final()` has returned.
   */
  opener(index: number, isFinal: boolean): DecipherGCM {
    this.position(index, isFinal);
    const decipher = createDecipheriv(this.cipherName, this.key, this.nonce, this.options);
    decipher.setAAD(this.aad);
    return decipher;
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

export function tamperedChunk(index: number, cause?: unknown): CoreError {
  return new CoreError(
    'S3SEAL_CIPHERTEXT_INVALID',
    `chunk ${index} failed authentication: the stored object was altered, truncated, reordered or is not this object`,
    { cause },
  );
}
