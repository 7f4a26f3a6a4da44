// Request bodies for uploads: one random block, allocated once, handed out again and again, so the
// load generator spends no CPU or memory per chunk (the proxy's cost is what we measure).
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MIB } from './units.js';

const BLOCK = randomBytes(MIB);

/**
 * `size` bytes as a sequence of views of one block. Yielding the same Buffer repeatedly is safe:
 * nothing writes to it, and undici waits for the socket to drain before asking for more.
 */
export function* bodyChunks(size: number): Generator<Buffer> {
  let left = size;
  while (left >= BLOCK.length) {
    yield BLOCK;
    left -= BLOCK.length;
  }
  if (left > 0) yield BLOCK.subarray(0, left);
}

/** The same bytes as a Readable, for clients that want a stream (the AWS SDK's Upload). */
export function bodyStream(size: number): Readable {
  return Readable.from(bodyChunks(size), { objectMode: false });
}
