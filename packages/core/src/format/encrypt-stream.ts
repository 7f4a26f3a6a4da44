import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { ChunkCipher } from './chunk-cipher.js';
import { chunkCount, chunkPlaintextSize } from './sizes.js';

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
 * Plaintext in, sealed segment out. Holds at most one chunk of plaintext: a chunk that
 * arrives whole in one input buffer is sealed straight from it, anything else is gathered in
 * one reused buffer. Output is one buffer per chunk.
 */
export class EncryptStream extends Transform {
  private readonly cipher: ChunkCipher;
  private readonly chunkSize: number;
  private readonly plaintextSize: number;
  private readonly lastIndex: number;
  private readonly gather: Buffer;
  private gathered = 0;
  private index = 0;
  private received = 0;
  private header: Buffer | undefined;

  constructor(options: EncryptStreamOptions) {
    super();
    this.cipher = new ChunkCipher(options.algorithm, options.key);
    this.chunkSize = options.chunkSize;
    this.plaintextSize = options.plaintextSize;
    this.lastIndex = chunkCount(options.plaintextSize, options.chunkSize) - 1;
    this.gather = Buffer.allocUnsafe(Math.min(options.chunkSize, Math.max(options.plaintextSize, 1)));
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
      const need = chunkPlaintextSize(this.index, this.plaintextSize, this.chunkSize) - this.gathered;
      const take = Math.min(need, data.length - at);
      if (this.gathered === 0 && take === need) {
        this.sealNext(data.subarray(at, at + take));
      } else {
        data.copy(this.gather, this.gathered, at, at + take);
        this.gathered += take;
        if (take === need) {
          this.sealNext(this.gather.subarray(0, this.gathered));
          this.gathered = 0;
        }
      }
      at += take;
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
    if (this.index === 0 && this.plaintextSize === 0) this.sealNext(Buffer.alloc(0));
    done();
  }

  private emitHeader(): void {
    if (this.header) {
      this.push(this.header);
      this.header = undefined;
    }
  }

  private sealNext(plaintext: Buffer): void {
    this.push(this.cipher.seal(this.index, this.index === this.lastIndex, plaintext));
    this.index++;
  }
}

function tooLong(expected: number): CoreError {
  return new CoreError('S3SEAL_FORMAT_ARGUMENT', `the body is longer than the declared ${expected} bytes`);
}
