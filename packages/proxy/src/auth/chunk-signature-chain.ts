/**
 * The signature chain of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) body: each chunk is
 * signed over the previous signature (the request's own for the first chunk), the final
 * zero-length chunk included, and the trailer over the final chunk's signature.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import { S3Error } from '../s3/errors.js';
import { EMPTY_SHA256, isSameSignature, signatureOf } from './signing-key.js';
import { chunkStringToSign, chunkStringToSignPrefix, trailerStringToSign } from './string-to-sign.js';
import type { SigningContext } from './types.js';

export class ChunkSignatureChain {
  private previous: string;
  private readonly prefix: string;

  constructor(private readonly context: SigningContext) {
    this.previous = context.seedSignature;
    this.prefix = chunkStringToSignPrefix(context.amzDate, context.scope);
  }

  /** Checks one chunk's signature and moves the chain on; `chunkSha256Hex` of an empty chunk for the last. */
  verifyChunk(chunkSha256Hex: string, provided: string): void {
    const expected = signatureOf(
      this.context.signingKey,
      chunkStringToSign(this.prefix, this.previous, chunkSha256Hex),
    );
    if (!isSameSignature(expected, provided)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature does not match the signature chain.', {
        fields: { SignatureProvided: provided },
      });
    }
    this.previous = expected;
  }

  verifyFinalChunk(provided: string): void {
    this.verifyChunk(EMPTY_SHA256, provided);
  }

  /** `canonicalTrailers`: the trailers as `name:value\n` lines, sorted by name. */
  verifyTrailer(canonicalTrailers: string, provided: string): void {
    const expected = signatureOf(
      this.context.signingKey,
      trailerStringToSign(this.context.amzDate, this.context.scope, this.previous, canonicalTrailers),
    );
    if (!isSameSignature(expected, provided)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The trailer signature does not match the signature chain.',
        {
          fields: { SignatureProvided: provided },
        },
      );
    }
  }
}
