import type { DecipherGCM, KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { ChunkCipher, tamperedChunk } from './chunk-cipher.js';
import type { ObjectLayout, ReadPlan, SegmentLayout } from './layout.js';
import { decodePartHeader } from './part-header.js';
import type { PartHeader } from './part-header.js';
import { chunkPlaintextSize, TAG_BYTES } from './sizes.js';

export interface DecryptorOptions {
  readonly algorithm: Algorithm;
  readonly layout: ObjectLayout;
  /** The slice of the stored object this decryptor is fed (see planRead). */
  readonly plan: ReadPlan;
  /**
   * The key of segment `index`. `header` is the segment's part header when the input
   * carried it; it is undefined for a headerless single-PUT body or when the read starts
   * inside a part (the caller then knows the salt from an earlier read).
   */
  readonly segmentKey: (index: number, header: PartHeader | undefined) => KeyObject;
  /**
   * The first part's header when the slice starts inside that part (so the input does not
   * carry it). It is handed to `segmentKey` for that part and seeds the part-order check, so
   * a later part in the slice cannot be one from before it.
   */
  readonly firstHeader?: PartHeader | undefined;
}

/**
 * Receives the plaintext of one authenticated chunk (trimmed to the plan), in the pieces the
 * sealed input arrived in. The array and its buffers are handed over: the decryptor keeps no
 * reference once the call returns. Called only with at least one byte.
 */
export type PlaintextSink = (pieces: Buffer[]) => void;

/**
 * Sealed bytes in, plaintext out, with no I/O: the engine of DecryptStream and of the proxy's
 * reads. Each input piece is deciphered as it arrives (nothing is gathered or copied) and the
 * plaintext is held until its chunk's tag verifies, so a sink never sees unauthenticated
 * bytes; memory is bounded by one chunk. It fails on a bad tag, on input past the planned end
 * (extension) and, at `end()`, on input that stopped early (truncation).
 */
export class Decryptor {
  private readonly options: DecryptorOptions;
  private readonly chunkSize: number;
  private readonly tag = Buffer.allocUnsafe(TAG_BYTES);
  private tagBytes = 0;
  private header: Buffer | undefined;
  private headerBytes = 0;
  private segmentIndex: number;
  private segment: SegmentLayout;
  private chunkIndex: number;
  private isExpectingHeader: boolean;
  private cipher: ChunkCipher | undefined;
  /** The chunk being opened (undefined between chunks), and its ciphertext bytes still to come. */
  private decipher: DecipherGCM | undefined;
  private cipherLeft = 0;
  private held: Buffer[] = [];
  private skip: number;
  private remaining: number;
  private finished = false;
  private lastPartNumber = 0;

  constructor(options: DecryptorOptions) {
    this.options = options;
    this.chunkSize = options.layout.chunkSize;
    this.segmentIndex = options.plan.firstSegment;
    this.segment = this.segmentAt(this.segmentIndex);
    this.chunkIndex = options.plan.firstChunk;
    this.isExpectingHeader = options.plan.startsWithHeader && this.segment.headerBytes > 0;
    this.skip = options.plan.skipBytes;
    this.remaining = options.plan.length;
    this.lastPartNumber = options.firstHeader?.partNumber ?? 0;
    if (!this.isExpectingHeader) this.cipher = this.cipherFor(options.firstHeader);
  }

  /** Whether every planned chunk has been authenticated and handed over. */
  get isFinished(): boolean {
    return this.finished;
  }

  /** Feeds the next sealed bytes; `sink` gets each chunk they complete. Throws CoreError on tampering. */
  write(data: Buffer, sink: PlaintextSink): void {
    let at = 0;
    while (at < data.length) {
      if (this.finished) throw invalid('the stored object is longer than its metadata says');
      if (this.isExpectingHeader) {
        at = this.takeHeader(data, at);
        continue;
      }
      const decipher = (this.decipher ??= this.startChunk());
      if (this.cipherLeft > 0) {
        const take = Math.min(this.cipherLeft, data.length - at);
        this.held.push(decipher.update(take === data.length ? data : data.subarray(at, at + take)));
        this.cipherLeft -= take;
        at += take;
        continue;
      }
      const take = Math.min(TAG_BYTES - this.tagBytes, data.length - at);
      data.copy(this.tag, this.tagBytes, at, at + take);
      this.tagBytes += take;
      at += take;
      if (this.tagBytes === TAG_BYTES) this.endChunk(decipher, sink);
    }
  }

  /** The input ended: throws unless it carried every planned chunk. */
  end(): void {
    if (!this.finished) throw invalid('the stored object ended early (truncated)');
  }

  private startChunk(): DecipherGCM {
    const isFinal = this.chunkIndex === this.segment.chunkCount - 1;
    this.cipherLeft = chunkPlaintextSize(this.chunkIndex, this.segment.plaintextSize, this.chunkSize);
    this.tagBytes = 0;
    return this.cipher!.opener(this.chunkIndex, isFinal);
  }

  private endChunk(decipher: DecipherGCM, sink: PlaintextSink): void {
    decipher.setAuthTag(this.tag);
    try {
      decipher.final();
    } catch (err: unknown) {
      this.held = [];
      throw tamperedChunk(this.chunkIndex, err);
    }
    this.decipher = undefined;
    const pieces = this.trim(this.held);
    this.held = [];
    this.advance();
    if (pieces.length > 0) sink(pieces);
  }

  /** The chunk's plaintext within the plan: the first chunk starts `skip` in, the last stops short. */
  private trim(pieces: Buffer[]): Buffer[] {
    if (this.skip === 0 && this.remaining >= this.chunkSize) {
      for (const piece of pieces) this.remaining -= piece.length;
      return pieces;
    }
    const out: Buffer[] = [];
    for (const piece of pieces) {
      const start = Math.min(this.skip, piece.length);
      this.skip -= start;
      const end = Math.min(piece.length, start + this.remaining);
      if (end <= start) continue;
      out.push(start === 0 && end === piece.length ? piece : piece.subarray(start, end));
      this.remaining -= end - start;
    }
    return out;
  }

  private takeHeader(data: Buffer, at: number): number {
    const size = this.segment.headerBytes;
    if (this.header === undefined || this.header.length !== size) this.header = Buffer.allocUnsafe(size);
    const take = Math.min(size - this.headerBytes, data.length - at);
    data.copy(this.header, this.headerBytes, at, at + take);
    this.headerBytes += take;
    if (this.headerBytes === size) {
      const header = decodePartHeader(this.options.algorithm, this.header);
      this.headerBytes = 0;
      // Parts are stored in ascending part-number order; anything else was rearranged.
      if (header.partNumber <= this.lastPartNumber) throw invalid('parts are out of order');
      this.lastPartNumber = header.partNumber;
      this.cipher = this.cipherFor(header);
      this.isExpectingHeader = false;
    }
    return at + take;
  }

  private advance(): void {
    const plan = this.options.plan;
    const wasFinalChunk = this.chunkIndex === this.segment.chunkCount - 1;
    if (this.segmentIndex === plan.lastSegment && this.chunkIndex === plan.lastChunk) {
      this.finished = true;
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
