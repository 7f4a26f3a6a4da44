import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { Decryptor } from './decryptor.js';
import type { DecryptorOptions } from './decryptor.js';

export type DecryptStreamOptions = DecryptorOptions;

/**
 * Sealed bytes in, plaintext out: a Decryptor as a Transform. Every chunk is authenticated
 * before any of its plaintext is pushed, so a reader never sees unauthenticated bytes; the
 * stream fails on a bad tag, on input that ends early (truncation) and on input past the
 * planned end (extension). Holds at most one chunk, pushed in the pieces the input came in.
 */
export class DecryptStream extends Transform {
  private readonly decryptor: Decryptor;
  private readonly sink = (pieces: Buffer[]): void => {
    for (const piece of pieces) this.push(piece);
  };

  constructor(options: DecryptStreamOptions) {
    super();
    this.decryptor = new Decryptor(options);
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.decryptor.write(data, this.sink);
    } catch (err: unknown) {
      done(err as Error);
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.decryptor.end();
    } catch (err: unknown) {
      done(err as Error);
      return;
    }
    done();
  }
}
