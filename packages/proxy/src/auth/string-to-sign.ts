/**
 * The three strings to sign of SigV4 for S3: the request's own, each aws-chunked chunk's, and
 * the trailer's. https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
 */
import { EMPTY_SHA256, sha256Hex } from './signing-key.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export function requestStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

/** Everything of a chunk's string to sign that does not change from chunk to chunk. */
export function chunkStringToSignPrefix(amzDate: string, scope: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n`;
}

/** `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<previous signature>\n<sha256("")>\n<sha256(chunk)>` */
export function chunkStringToSign(prefix: string, previousSignature: string, chunkSha256Hex: string): string {
  return `${prefix}${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/**
 * `AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<previous signature>\n<sha256(trailers)>`, where
 * the trailers are hashed as `name:value\n` lines (the AWS documentation's example hashes
 * "x-amz-checksum-crc32c:sOO8/Q==\n"; aws-c-auth and the .NET SDK sort by name first).
 */
export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  canonicalTrailers: string,
): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(canonicalTrailers)}`;
}
