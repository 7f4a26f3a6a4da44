import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** Passes bytes through unchanged and keeps their MD5 (an UploadPartCopy's ETag is its plaintext's MD5). */
export class Md5Tap extends Transform {
  private readonly hash = createHash('md5');
  private digestHex: string | undefined;

  /** Lower-case hex, once the stream has ended. */
  get md5Hex(): string | undefined {
    return this.digestHex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.digestHex = this.hash.digest('hex');
    done();
  }
}
