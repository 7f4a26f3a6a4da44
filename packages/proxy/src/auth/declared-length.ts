/**
 * The plaintext length a request declares, which the upstream PUT is sized by.
 */
import { S3Error } from '../s3/errors.js';
import { isAwsChunked } from './payload-mode.js';
import type { RawRequest, VerifiedRequest } from './types.js';

/** A decimal byte count; `undefined` when the header is absent, InvalidArgument when malformed. */
export function parseByteCount(value: string | string[] | undefined, headerName: string): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'string' ? value.trim() : '';
  let ok = text.length > 0 && text.length <= 16;
  for (let i = 0; ok && i < text.length; i++) {
    const c = text.charCodeAt(i);
    ok = c >= 0x30 && c <= 0x39;
  }
  const count = Number(text);
  if (!ok || !Number.isSafeInteger(count)) {
    throw new S3Error('InvalidArgument', `The ${headerName} header is not a valid byte count.`, {
      fields: { ArgumentName: headerName, ArgumentValue: String(value) },
    });
  }
  return count;
}

/**
 * Content-Length, or x-amz-decoded-content-length for aws-chunked bodies (whose Content-Length,
 * if any, counts the framing). Missing → MissingContentLength (411), as S3 answers.
 */
export function declaredPlaintextLength(req: RawRequest, verified: VerifiedRequest): number {
  const headerName = isAwsChunked(verified.payload) ? 'x-amz-decoded-content-length' : 'content-length';
  const length = parseByteCount(req.headers[headerName], headerName);
  if (length === undefined) {
    throw new S3Error('MissingContentLength', `You must provide the ${headerName} HTTP header.`);
  }
  return length;
}
