/**
 * The body stage of a verified request: raw client body in, exact plaintext object bytes out,
 * with everything the request promised about the body checked on the way — the payload hash,
 * the aws-chunked framing and chunk signatures, the trailer and its signature, Content-MD5, the
 * flexible checksum and the declared length.
 *
 * Fail closed: the encryptor downstream seals the object's last chunk when the last byte
 * arrives, and the upstream PUT has a fixed Content-Length, so the backend commits the object
 * the moment the last byte leaves this stage. The verifier therefore withholds the most recent
 * piece it has decoded and pushes it from _flush only after every end-of-body check has passed.
 * Memory stays bounded by that one piece (a network read), never by the body.
 *
 * Backpressure: Node's Transform holds back the write callback while the readable side is over
 * its highWaterMark (push() returned false) and releases it from _read, so the client socket is
 * paused through the normal pipeline mechanics.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../s3/errors.js';
import { AwsChunkedDecoder, DEFAULT_MAX_CHUNK_BYTES } from './aws-chunked-decoder.js';
import { ChunkSignatureChain } from './chunk-signature-chain.js';
import {
  checksumAlgorithmOfHeader,
  checksumMismatch,
  createChecksum,
  type IncrementalChecksum,
  parseChecksumValue,
  parseContentMd5,
} from './checksums.js';
import { parseQuery } from './canonical-request.js';
import { parseByteCount } from './declared-length.js';
import { hasSignedChunks, isAwsChunked } from './payload-mode.js';
import type { ChecksumAlgorithm, RawRequest, VerifiedRequest } from './types.js';

export interface PayloadVerification {
  /** MD5 of the plaintext, lower hex (the ETag S3 gives a single-part upload), when computed. */
  md5Hex: string | undefined;
  plaintextBytes: number;
  /** The flexible checksum the client sent (header or trailer), now verified. */
  checksum?: { algorithm: ChecksumAlgorithm; base64: string };
}

export interface PayloadVerifierOptions {
  /** Largest aws-chunked chunk accepted. Default 16 MiB. */
  maxChunkBytes?: number;
  /**
   * Compute the plaintext MD5 even when the client sent no Content-MD5. Off by default: MD5
   * runs at about half the speed of AES-GCM, so it is paid only where its value is used.
   */
  computeMd5?: boolean;
  /** Adds the verified plaintext bytes as they pass (the request's meter, for client_bytes metrics). */
  meter?: { bytesIn: number };
}

interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  /** From a header; undefined for a trailer, whose value arrives at the end. */
  value?: Buffer;
  running: IncrementalChecksum;
}

export class PayloadVerifier extends Transform {
  private readonly md5: Hash | undefined;
  private readonly sha256: Hash | undefined;
  private readonly expectedSha256: string | undefined;
  private readonly expectedMd5: Buffer | undefined;
  private readonly checksum: ExpectedChecksum | undefined;
  private readonly declaredBytes: number | undefined;
  private readonly decoder: AwsChunkedDecoder | undefined;
  private readonly meter: { bytesIn: number } | undefined;
  private held: Buffer | undefined;
  private bytes = 0;
  private verification: PayloadVerification | undefined;

  constructor(req: RawRequest, verified: VerifiedRequest, options: PayloadVerifierOptions = {}) {
    super();
    const contentMd5 = req.headers['content-md5'];
    if (contentMd5 !== undefined) this.expectedMd5 = parseContentMd5(String(contentMd5));
    this.md5 = this.expectedMd5 !== undefined || options.computeMd5 === true ? createHash('md5') : undefined;
    if (verified.payload === 'signed') {
      this.sha256 = createHash('sha256');
      this.expectedSha256 = verified.payloadSha256;
    }
    this.checksum = expectedChecksum(req, verified);
    this.meter = options.meter;

    const onData = this.accept.bind(this);
    if (isAwsChunked(verified.payload)) {
      this.declaredBytes = verified.decodedContentLength;
      this.decoder = new AwsChunkedDecoder(
        {
          ...(hasSignedChunks(verified.payload) && {
            chain: new ChunkSignatureChain(verified.signingContext),
          }),
          ...(verified.trailer !== undefined && { trailer: verified.trailer }),
          maxChunkBytes: options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES,
          ...(verified.decodedContentLength !== undefined && {
            maxDecodedBytes: verified.decodedContentLength,
          }),
        },
        onData,
      );
    } else {
      this.declaredBytes = parseByteCount(req.headers['content-length'], 'content-length');
      this.decoder = undefined;
    }
  }

  /** Set once every check has passed, just before the final bytes are pushed. */
  get result(): PayloadVerification | undefined {
    return this.verification;
  }

  /** MD5 of the plaintext, lower hex, once the body is verified. */
  get md5Hex(): string | undefined {
    return this.verification?.md5Hex;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.decoder === undefined) this.accept(chunk);
      else this.decoder.write(chunk);
    } catch (err: unknown) {
      callback(err as Error);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.verifyEnd().then(
      () => {
        const last = this.held;
        this.held = undefined;
        if (last !== undefined) this.push(last);
        callback();
      },
      (err: unknown) => callback(err as Error),
    );
  }

  /** Takes one run of plaintext: hashes it, then releases the run before it. */
  private accept(data: Buffer): void {
    if (data.length === 0) return;
    this.md5?.update(data);
    this.sha256?.update(data);
    this.checksum?.running.update(data);
    this.bytes += data.length;
    if (this.meter) this.meter.bytesIn += data.length;
    if (this.declaredBytes !== undefined && this.bytes > this.declaredBytes) {
      throw new S3Error('IncompleteBody', 'The body is longer than its declared length.');
    }
    const previous = this.held;
    this.held = data;
    if (previous !== undefined) this.push(previous);
  }

  private async verifyEnd(): Promise<void> {
    this.decoder?.end();
    if (this.declaredBytes !== undefined && this.bytes !== this.declaredBytes) {
      throw new S3Error('IncompleteBody', undefined, {
        fields: { ExpectedBytes: String(this.declaredBytes), ReceivedBytes: String(this.bytes) },
      });
    }
    if (this.sha256 !== undefined) {
      const computed = this.sha256.digest('hex');
      if (computed !== this.expectedSha256) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          fields: {
            ClientComputedContentSHA256: this.expectedSha256 ?? '',
            S3ComputedContentSHA256: computed,
          },
        });
      }
    }
    const md5 = this.md5?.digest();
    if (md5 !== undefined && this.expectedMd5 !== undefined && !md5.equals(this.expectedMd5)) {
      throw new S3Error('BadDigest', undefined, {
        fields: {
          ExpectedDigest: this.expectedMd5.toString('base64'),
          CalculatedDigest: md5.toString('base64'),
        },
      });
    }
    const verification: PayloadVerification = { md5Hex: md5?.toString('hex'), plaintextBytes: this.bytes };
    if (this.checksum !== undefined) {
      const { algorithm, running } = this.checksum;
      // decoder.end() has made sure a declared trailer arrived.
      const expected = this.checksum.value ?? parseChecksumValue(algorithm, this.decoder?.trailerValue ?? '');
      const computed = await running.digest();
      if (!computed.equals(expected)) throw checksumMismatch(algorithm);
      verification.checksum = { algorithm, base64: computed.toString('base64') };
    }
    this.verification = verification;
  }
}

/**
 * The one flexible checksum the request carries: an x-amz-checksum-* header, the trailer, or,
 * for a presigned URL, an x-amz-checksum-* query parameter (the SDK presigners hoist x-amz-*
 * headers into the query and S3 honours them there).
 */
function expectedChecksum(req: RawRequest, verified: VerifiedRequest): ExpectedChecksum | undefined {
  const declared: [ChecksumAlgorithm, string][] = [];
  for (const name of Object.keys(req.headers)) {
    const algorithm = checksumAlgorithmOfHeader(name);
    if (algorithm !== undefined) declared.push([algorithm, String(req.headers[name])]);
  }
  if (verified.isPresigned) {
    for (const param of parseQuery(req.rawQuery)) {
      const algorithm = checksumAlgorithmOfHeader(param.name);
      if (algorithm !== undefined) declared.push([algorithm, param.value]);
    }
  }
  if (declared.length + (verified.trailer === undefined ? 0 : 1) > 1) throw multipleChecksums();
  if (verified.trailer !== undefined) {
    return { algorithm: verified.trailer, running: createChecksum(verified.trailer) };
  }
  const [first] = declared;
  if (first === undefined) return undefined;
  const [algorithm, value] = first;
  return { algorithm, value: parseChecksumValue(algorithm, value), running: createChecksum(algorithm) };
}

function multipleChecksums(): S3Error {
  return new S3Error(
    'InvalidRequest',
    'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
  );
}

/** Body pipeline stage: raw client body in, exact plaintext object bytes out. Throws S3Error for bad digests. */
export function createPayloadVerifier(
  req: RawRequest,
  verified: VerifiedRequest,
  options?: PayloadVerifierOptions,
): PayloadVerifier {
  return new PayloadVerifier(req, verified, options);
}
