import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { ChunkCipher } from './chunk-cipher.js';
import type { ObjectLayout, ReadPlan, SegmentLayout } from './layout.js';
import { decodePartHeader } from './part-header.js';
import type { PartHeader } from './part-header.js';
import { chunkPlaintextSize, TAG_BYTES } from './sizes.js';

export interface DecryptStreamOptions {
  readonly algorithm: Algorithm;
  readonly layout: ObjectLayout;
  /** The slice of the stored object this stream is fed (see planRead). */
  readonly plan: ReadPlan;
  /**
   * The key of segment `index`. `header` is the segment's part header when the stream
   * carried it; it is undefined for a headerless single-PUT body or when the read starts
   * inside a part (the caller then knows the salt from an earlier read).
   */
  readonly segmentKey: (index: number, header: PartHeader | undefined) => KeyObject;
  /**
   * The first part's header when the slice starts inside that part (so the stream does not
   * carry it). It is handed to `segmentKey` for that part and seeds the part-order check, so
   * a later part in the slice cannot be one from before it.
   */
  readonly firstHeader?: PartHeader | undefined;
}

/**
 * Sealed bytes in, plaintext out. Every chunk is authenticated before any of its plaintext
 * is pushed, so a reader never sees unauthenticated bytes; the stream fails on a bad tag, on
 * input that ends early (truncation) and on input past the planned end (extension).
 * Holds at most one sealed chunk.
 */
export class DecryptStream extends Transform {
  private readonly options: DecryptStreamOptions;
  private readonly chunkSize: number;
  private readonly gather: Buffer;
  private gathered = 0;
  private segmentIndex: number;
  private segment: SegmentLayout;
  private chunkIndex: number;
  private isExpectingHeader: boolean;
  private cipher: ChunkCipher | undefined;
  private skip: number;
  private remaining: number;
  private isFinished = false;
  private lastPartNumber = 0;

  constructor(options: DecryptStreamOptions) {
    super();
    this.options = options;
    this.chunkSize = options.layout.chunkSize;
    this.gather = Buffer.allocUnsafe(Math.max(this.chunkSize + TAG_BYTES, 64));
    this.segmentIndex = options.plan.firstSegment;
    this.segment = this.segmentAt(this.segmentIndex);
    this.chunkIndex = options.plan.firstChunk;
    this.isExpectingHeader = options.plan.startsWithHeader && this.segment.headerBytes > 0;
    this.skip = options.plan.skipBytes;
    this.remaining = options.plan.length;
    this.lastPartNumber = options.firstHeader?.partNumber ?? 0;
    if (!this.isExpectingHeader) this.cipher = this.cipherFor(options.firstHeader);
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      let at = 0;
      while (at < data.length) {
        if (this.isFinished) throw invalid('the stored object is longer than its metadata says');
        const need = this.unitSize() - this.gathered;
        const take = Math.min(need, data.length - at);
        if (this.gathered === 0 && take === need) {
          this.consume(data.subarray(at, at + take));
        } else {
          data.copy(this.gather, this.gathered, at, at + take);
          this.gathered += take;
          if (take === need) {
            const unit = this.gather.subarray(0, this.gathered);
            this.gathered = 0;
            this.consume(unit);
          }
        }
        at += take;
      }
      done();
    } catch (err: unknown) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.isFinished ? undefined : invalid('the stored object ended early (truncated)'));
  }

  private unitSize(): number {
    if (this.isExpectingHeader) return this.segment.headerBytes;
    return chunkPlaintextSize(this.chunkIndex, this.segment.plaintextSize, this.chunkSize) + TAG_BYTES;
  }

  private consume(unit: Buffer): void {
    if (this.isExpectingHeader) {
      const header = decodePartHeader(this.options.algorithm, unit);
      // Parts are stored in ascending part-number order; anything else was rearranged.
      if (header.partNumber <= this.lastPartNumber) throw invalid('parts are out of order');
      this.lastPartNumber = header.partNumber;
      this.cipher = this.cipherFor(header);
      this.isExpectingHeader = false;
      return;
    }
    const isFinal = this.chunkIndex === this.segment.chunkCount - 1;
    const plaintext = this.cipher!.open(this.chunkIndex, isFinal, unit);
    this.emitPlaintext(plaintext);
    this.advance(isFinal);
  }

  private emitPlaintext(plaintext: Buffer): void {
    const start = this.skip;
    const end = Math.min(plaintext.length, start + this.remaining);
    this.skip = 0;
    if (end > start) {
      this.push(start === 0 && end === plaintext.length ? plaintext : plaintext.subarray(start, end));
      this.remaining -= end - start;
    }
  }

  private advance(wasFinalChunk: boolean): void {
    const plan = this.options.plan;
    if (this.segmentIndex === plan.lastSegment && this.chunkIndex === plan.lastChunk) {
      this.isFinished = true;
      return;
    }
    if (!wasFinalChunk) {
      this.chunkIndex++;
      return;
    }
    this.segmentIndex++;
    this.segment = this.segmentAt(this.segmentIndex);
    this.chunkIndex = 0;
    this.isExpectingHeader = this.segment.headerBytes > 0;
    this.cipher = this.isExpectingHeader ? undefined : this.cipherFor(undefined);
  }

  private cipherFor(header: PartHeader | undefined): ChunkCipher {
    return new ChunkCipher(this.options.algorithm, this.options.segmentKey(this.segmentIndex, header));
  }

  private segmentAt(index: number): SegmentLayout {
    const segment = this.options.layout.segments[index];
    if (!segment) throw invalid(`segment ${index} is not in the layout`);
    return segment;
  }
}

function invalid(message: string): CoreError {
  return new CoreError('S3SEAL_CIPHERTEXT_INVALID', message);
}
