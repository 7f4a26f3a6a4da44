import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { CipherGCM, KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { ChunkCipher } from './chunk-cipher.js';
import { chunkCount, chunkPlaintextSize, TAG_BYTES } from './sizes.js';

export interface EncryptStreamOptions {
  readonly algorithm: Algorithm;
  readonly chunkSize: number;
  /** The segment key (see deriveSegmentKey). */
  readonly key: KeyObject;
  /** Exact plaintext bytes the stream must carry; more or fewer is an error, never a short object. */
  readonly plaintextSize: number;
  /** A part header to emit first (multipart parts only). */
  readonly header?: Buffer;
}

/**
 * Plaintext in, sealed segment out. Holds no plaintext: each input piece is encrypted as it
 * arrives and its ciphertext pushed at once, so nothing is gathered or copied; a chunk's tag
 * is pushed after its last piece. The stream's output is therefore not one buffer per chunk:
 * consumers see the same bytes in the pieces the input came in, plus 16-byte tags.
 */
export class EncryptStream extends Transform {
  private readonly chunks: ChunkCipher;
  private readonly chunkSize: number;
  private readonly plaintextSize: number;
  private readonly lastIndex: number;
  /** The chunk being sealed (undefined between chunks), and its plaintext bytes still to come. */
  private cipher: CipherGCM | undefined;
  private chunkLeft: number;
  private index = 0;
  private received = 0;
  private header: Buffer | undefined;

  constructor(options: EncryptStreamOptions) {
    super();
    this.chunks = new ChunkCipher(options.algorithm, options.key);
    this.chunkSize = options.chunkSize;
    this.plaintextSize = options.plaintextSize;
    this.lastIndex = chunkCount(options.plaintextSize, options.chunkSize) - 1;
    this.chunkLeft = chunkPlaintextSize(0, options.plaintextSize, options.chunkSize);
    this.header = options.header;
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += data.length;
    if (this.received > this.plaintextSize) {
      done(tooLong(this.plaintextSize));
      return;
    }
    this.emitHeader();
    let at = 0;
    while (at < data.length) {
      const cipher = (this.cipher ??= this.chunks.sealer(this.index, this.index === this.lastIndex));
      const take = Math.min(this.chunkLeft, data.length - at);
      this.push(cipher.update(take === data.length ? data : data.subarray(at, at + take)));
      this.chunkLeft -= take;
      at += take;
      if (this.chunkLeft === 0) this.endChunk(cipher);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.received !== this.plaintextSize) {
      done(
        new CoreError(
          'S3SEAL_FORMAT_ARGUMENT',
          `the body ended after ${this.received} of ${this.plaintextSize} bytes; nothing was sealed past it`,
        ),
      );
      return;
    }
    this.emitHeader();
    // Only an empty body reaches here with its (empty, final) chunk still unsealed.
    if (this.index === 0 && this.plaintextSize === 0) this.endChunk(this.chunks.sealer(0, true));
    done();
  }

  private emitHeader(): void {
    if (this.header) {
      this.push(this.header);
      this.header = undefined;
    }
  }

  private endChunk(cipher: CipherGCM): void {
    cipher.final();
    // Into Node's shared small-buffer pool: a tag of its own (a 16-byte malloc) would live as
    // long as its chunk is queued on the socket, scattered between the large buffers.
    const tag = Buffer.allocUnsafe(TAG_BYTES);
    cipher.getAuthTag().copy(tag);
    this.push(tag);
    this.cipher = undefined;
    this.index++;
    if (this.index <= this.lastIndex)
      this.chunkLeft = chunkPlaintextSize(this.index, this.plaintextSize, this.chunkSize);
  }
}

function tooLong(expected: number): CoreError {
  return new CoreError('S3SEAL_FORMAT_ARGUMENT', `the body is longer than the declared ${expected} bytes`);
}
