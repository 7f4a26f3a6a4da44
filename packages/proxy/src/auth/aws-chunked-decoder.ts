/**
 * Decodes an aws-chunked body (Content-Encoding: aws-chunked), checking chunk signatures as
 * it goes. The grammar, from the S3 documentation and minio's cmd/streaming-signature-v4.go
 * and cmd/streaming-v4-unsigned.go:
 *
 *   signed:    <hex>;chunk-signature=<64 hex>\r\n <data> \r\n ... 0;chunk-signature=<sig>\r\n
 *   unsigned:  <hex>\r\n <data> \r\n ... 0\r\n
 *   then, without a trailer:  \r\n
 *   with a trailer:           x-amz-checksum-crc32:<b64>\r\n [x-amz-trailer-signature:<sig>\r\n] \r\n
 *
 * Liberal where real clients differ: header and trailer lines may end in \n alone; blank lines
 * before the trailers are skipped (the AWS trailer example puts one there, the JS SDK does
 * not); `name: value` may carry spaces; the closing blank line may be missing at end of body.
 * Strict where it matters: the CRLF after each chunk's data, the chunk signatures, the size
 * limits (checked digit by digit, before anything is allocated or read).
 *
 * Errors: a body that stops early is IncompleteBody (what S3 answers for a short body);
 * broken framing is InvalidRequest; a bad chunk or trailer signature SignatureDoesNotMatch.
 *
 * Data is handed on as it arrives, before its chunk's signature is checked at the chunk's
 * end: memory stays bounded by one network read instead of one chunk (up to 16 MiB), and the
 * payload verifier withholds the final bytes until every check has passed, so nothing
 * unverified can complete the upstream object.
 */
import { createHash, type Hash } from 'node:crypto';
import { S3Error } from '../s3/errors.js';
import type { ChunkSignatureChain } from './chunk-signature-chain.js';
import { checksumHeaderName } from './checksums.js';
import type { ChecksumAlgorithm } from './types.js';

/** A chunk-size or trailer line longer than this is refused (minio uses the same 4 KiB). */
export const MAX_LINE_BYTES = 4096;
/** Trailer section lines (blank ones included) before we call it abuse. */
const MAX_TRAILER_LINES = 16;
export const DEFAULT_MAX_CHUNK_BYTES = 16 * 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;
const COLON = 0x3a;
const CHUNK_SIGNATURE = Buffer.from(';chunk-signature=', 'latin1');
const SIGNATURE_HEX_LENGTH = 64;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[i.toString(16).charCodeAt(0)] = i;
  HEX_VALUE[i.toString(16).toUpperCase().charCodeAt(0)] = i;
}

const State = {
  ChunkHeader: 0,
  Data: 1,
  DataCr: 2,
  DataLf: 3,
  FinalBlankLine: 4,
  Trailers: 5,
  Done: 6,
} as const;
type State = (typeof State)[keyof typeof State];

export interface AwsChunkedDecoderOptions {
  /** Present for the signed modes: every chunk must carry a signature that continues it. */
  chain?: ChunkSignatureChain;
  /** Present for the *-trailer modes: the one checksum the trailer must carry. */
  trailer?: ChecksumAlgorithm;
  /** Largest declared chunk accepted. */
  maxChunkBytes: number;
  /** x-amz-decoded-content-length: a chunk that would go past it fails before it is read. */
  maxDecodedBytes?: number;
}

function malformed(detail: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${detail}.`);
}

export class AwsChunkedDecoder {
  private state: State = State.ChunkHeader;
  private readonly line = Buffer.allocUnsafe(MAX_LINE_BYTES);
  private lineLength = 0;
  private chunkRemaining = 0;
  private chunkHash: Hash | undefined;
  private chunkSignature = '';
  private decodedBytes = 0;
  private trailerLines = 0;
  private readonly trailerName: string | undefined;
  private trailerValueText: string | undefined;
  private trailerSignature: string | undefined;

  constructor(
    private readonly options: AwsChunkedDecoderOptions,
    /** Receives each run of decoded bytes, a view of the input (copy it to keep it). */
    private readonly sink: (data: Buffer) => void,
  ) {
    this.trailerName = options.trailer === undefined ? undefined : checksumHeaderName(options.trailer);
  }

  /** The trailer's checksum value (base64, as sent), once the trailer section is read. */
  get trailerValue(): string | undefined {
    return this.trailerValueText;
  }

  get totalDecodedBytes(): number {
    return this.decodedBytes;
  }

  write(input: Buffer): void {
    let pos = 0;
    const length = input.length;
    while (pos < length) {
      switch (this.state) {
        case State.Data: {
          const take = Math.min(this.chunkRemaining, length - pos);
          const data = input.subarray(pos, pos + take);
          pos += take;
          this.chunkRemaining -= take;
          this.chunkHash?.update(data);
          this.sink(data);
          if (this.chunkRemaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (input[pos++] !== CR) throw malformed('chunk data is not followed by CRLF');
          this.state = State.DataLf;
          break;
        case State.DataLf:
          if (input[pos++] !== LF) throw malformed('chunk data is not followed by CRLF');
          this.endChunk();
          break;
        case State.Done:
          // Tolerate stray line ends after the last blank line, nothing else.
          if (input[pos] !== CR && input[pos] !== LF) throw malformed('data after the end of the body');
          pos++;
          break;
        default:
          pos = this.readLine(input, pos);
      }
    }
  }

  /** Call at end of input: throws unless the body ended where the framing says it may. */
  end(): void {
    // Only the closing blank line may be missing; a line cut short is a short body.
    if (this.lineLength === 0) {
      if (this.state === State.Trailers && this.isTrailerComplete()) this.finishTrailers();
      if (this.state === State.FinalBlankLine) this.state = State.Done;
    }
    if (this.state !== State.Done) {
      throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk and trailer.');
    }
  }

  /** Accumulates one line (up to LF) into `this.line`; returns the new input position. */
  private readLine(input: Buffer, pos: number): number {
    const lf = input.indexOf(LF, pos);
    const end = lf === -1 ? input.length : lf;
    if (this.lineLength + (end - pos) > MAX_LINE_BYTES) throw malformed('line too long');
    input.copy(this.line, this.lineLength, pos, end);
    this.lineLength += end - pos;
    if (lf === -1) return end;
    let lineLength = this.lineLength;
    if (lineLength > 0 && this.line[lineLength - 1] === CR) lineLength--;
    this.lineLength = 0;
    if (this.state === State.ChunkHeader) this.onChunkHeader(lineLength);
    else if (this.state === State.FinalBlankLine) {
      if (lineLength !== 0) throw malformed('the final chunk is not followed by a blank line');
      this.state = State.Done;
    } else this.onTrailerLine(lineLength);
    return lf + 1;
  }

  private onChunkHeader(lineLength: number): void {
    const line = this.line;
    const { maxChunkBytes } = this.options;
    let size = 0;
    let i = 0;
    for (; i < lineLength; i++) {
      const digit = HEX_VALUE[line[i]!]!;
      if (digit < 0) break;
      size = size * 16 + digit;
      if (size > maxChunkBytes) throw malformed(`chunk size exceeds the ${maxChunkBytes}-byte limit`);
    }
    if (i === 0) throw malformed('chunk size is not hexadecimal');
    if (i < lineLength && line[i] !== SEMICOLON) throw malformed('chunk size is not hexadecimal');
    if (this.options.chain !== undefined) {
      const sigStart = i + CHUNK_SIGNATURE.length;
      if (
        lineLength - sigStart !== SIGNATURE_HEX_LENGTH ||
        line.compare(CHUNK_SIGNATURE, 0, CHUNK_SIGNATURE.length, i, sigStart) !== 0
      ) {
        throw malformed('a chunk has no chunk-signature');
      }
      this.chunkSignature = line.toString('latin1', sigStart, lineLength);
    }
    // Any other chunk extension of the unsigned modes is ignored, as HTTP/1.1 chunking does.
    const { maxDecodedBytes } = this.options;
    if (maxDecodedBytes !== undefined && this.decodedBytes + size > maxDecodedBytes) {
      throw new S3Error(
        'IncompleteBody',
        'The aws-chunked body is longer than x-amz-decoded-content-length.',
      );
    }
    if (size === 0) {
      this.options.chain?.verifyFinalChunk(this.chunkSignature);
      this.state = this.trailerName === undefined ? State.FinalBlankLine : State.Trailers;
      return;
    }
    this.decodedBytes += size;
    this.chunkRemaining = size;
    // A fresh hash per chunk: node:crypto hashes cannot be reset, and chunks are large.
    if (this.options.chain !== undefined) this.chunkHash = createHash('sha256');
    this.state = State.Data;
  }

  private endChunk(): void {
    if (this.options.chain !== undefined && this.chunkHash !== undefined) {
      this.options.chain.verifyChunk(this.chunkHash.digest('hex'), this.chunkSignature);
      this.chunkHash = undefined;
    }
    this.state = State.ChunkHeader;
  }

  private isTrailerComplete(): boolean {
    return (
      this.trailerValueText !== undefined &&
      (this.options.chain === undefined || this.trailerSignature !== undefined)
    );
  }

  private onTrailerLine(lineLength: number): void {
    if (++this.trailerLines > MAX_TRAILER_LINES) throw malformed('too many trailer lines');
    if (lineLength === 0) {
      // Blank: the end of the section once it holds everything, otherwise padding to skip.
      if (this.isTrailerComplete()) this.finishTrailers();
      return;
    }
    const colon = this.line.subarray(0, lineLength).indexOf(COLON);
    if (colon <= 0) throw malformed('a trailer line is not "name:value"');
    const name = this.line.toString('latin1', 0, colon).trim().toLowerCase();
    const value = this.line.toString('latin1', colon + 1, lineLength).trim();
    if (name === TRAILER_SIGNATURE) {
      if (this.trailerSignature !== undefined) throw malformed('repeated trailer signature');
      // An unsigned-trailer body has no chain to check a signature against; keep it unused.
      this.trailerSignature = value;
    } else if (name === this.trailerName) {
      if (this.trailerValueText !== undefined) throw malformed(`repeated trailer ${name}`);
      this.trailerValueText = value;
    } else {
      throw malformed(`trailer ${name} was not declared in x-amz-trailer`);
    }
  }

  private finishTrailers(): void {
    const { chain } = this.options;
    if (chain !== undefined) {
      chain.verifyTrailer(`${this.trailerName}:${this.trailerValueText}\n`, this.trailerSignature ?? '');
    }
    this.state = State.Done;
  }
}
