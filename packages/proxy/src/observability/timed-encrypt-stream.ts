import type { TransformCallback } from 'node:stream';
import { EncryptStream } from '@s3seal/core';
import type { EncryptStreamOptions } from '@s3seal/core';
import type { RequestMeter } from './request-meter.js';

/**
 * EncryptStream that adds the time spent sealing to the request's meter: one clock read
 * before and after each input piece (a network read, not a byte or a chunk), minus the time
 * spent in push(), where a flowing consumer (the upstream socket) runs synchronously and would
 * otherwise be counted as encryption. A piece written while another is being sealed (Writable
 * drains its buffer from inside the callback) is timed as part of the outer one.
 */
export class TimedEncryptStream extends EncryptStream {
  private depth = 0;
  private isPushing = false;
  private pushedMs = 0;

  constructor(
    private readonly meter: RequestMeter,
    options: EncryptStreamOptions,
  ) {
    super(options);
  }

  override _transform(data: Buffer, encoding: BufferEncoding, done: TransformCallback): void {
    if (this.depth > 0) {
      super._transform(data, encoding, done);
      return;
    }
    this.depth = 1;
    const pushedBefore = this.pushedMs;
    const start = performance.now();
    try {
      super._transform(data, encoding, done);
    } finally {
      this.depth = 0;
      this.meter.encryptMs += performance.now() - start - (this.pushedMs - pushedBefore);
    }
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (this.depth === 0 || this.isPushing) return super.push(chunk, encoding);
    this.isPushing = true;
    const start = performance.now();
    try {
      return super.push(chunk, encoding);
    } finally {
      this.isPushing = false;
      this.pushedMs += performance.now() - start;
    }
  }
}
