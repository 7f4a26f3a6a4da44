import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';
import { parseRange } from './range.js';

export interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | undefined;
}

/** Parses `x-amz-copy-source: [/]bucket/key[?versionId=…]` (URL-encoded), once, for CopyObject and UploadPartCopy. */
export function parseCopySource(header: string): CopySource {
  const q = header.indexOf('?');
  const path = q < 0 ? header : header.slice(0, q);
  let versionId: string | undefined;
  if (q >= 0) {
    const params = new URLSearchParams(header.slice(q + 1));
    versionId = params.get('versionId') ?? undefined;
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.replace(/^\//, ''));
  } catch {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source is not valid URL encoding');
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source must name a bucket and a key');
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), versionId };
}

/** The copy-source conditions, renamed to the plain ones so one evaluator serves both. */
export function copySourceConditions(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name of ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']) {
    const value = headers[`x-amz-copy-source-${name}`];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * `x-amz-copy-source-range: bytes=first-last` of an UploadPartCopy, against the source's
 * (plaintext) size: both ends given and inside the object, as S3 requires.
 */
export function parseCopySourceRange(header: string, sourceSize: number): { start: number; end: number } {
  const range = parseRange(header);
  if (range?.kind !== 'bounded') {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last',
      {
        fields: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header },
      },
    );
  }
  if (range.end >= sourceSize) {
    throw new S3Error(
      'InvalidArgument',
      `Range specified is not valid for source object of size: ${sourceSize}`,
      { fields: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header } },
    );
  }
  return { start: range.start, end: range.end };
}
