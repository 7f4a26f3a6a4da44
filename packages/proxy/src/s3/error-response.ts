import type { ServerResponse } from 'node:http';
import { isCoreError } from '@s3seal/core';
import type { CoreError } from '@s3seal/core';
import { S3Error } from './errors.js';
import type { S3ErrorCode } from './errors.js';
import { escapeXml } from './xml.js';

/** How each core failure reads to an S3 client. */
const CORE_TO_S3: Record<CoreError['code'], S3ErrorCode> = {
  S3SEAL_METADATA_INVALID: 'DecryptionFailed',
  S3SEAL_KEY_VERSION_UNKNOWN: 'KeyUnavailable',
  S3SEAL_KEYRING_MISMATCH: 'KeyUnavailable',
  S3SEAL_KEY_UNWRAP_FAILED: 'DecryptionFailed',
  S3SEAL_CIPHERTEXT_INVALID: 'DecryptionFailed',
  S3SEAL_KEYRING_INVALID: 'KeyUnavailable',
  S3SEAL_KEY_PROVIDER_UNAVAILABLE: 'KeyManagerUnavailable',
  S3SEAL_KEY_PROVIDER_DENIED: 'KeyManagerAccessDenied',
  S3SEAL_METADATA_TOO_LARGE: 'MetadataTooLarge',
  S3SEAL_METADATA_RESERVED: 'InvalidArgument',
  S3SEAL_RANGE_NOT_SATISFIABLE: 'InvalidRange',
  S3SEAL_FORMAT_ARGUMENT: 'IncompleteBody',
};

/** Any error as an S3Error: typed ones keep their meaning, anything else is an InternalError. */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (isCoreError(err)) return new S3Error(CORE_TO_S3[err.code], err.message, { cause: err });
  return new S3Error('InternalError', undefined, { cause: err });
}

/**
 * The one place that answers an error. Before the response has started it writes S3's XML
 * error document; after (a GET whose stored data fails authentication mid-stream) it destroys
 * the connection, so the client sees a broken transfer, never a short "successful" download.
 */
export function sendS3Error(
  res: ServerResponse,
  err: S3Error,
  requestId: string,
  resource: string,
  isHead: boolean,
): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const fields = Object.entries(err.fields)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId>${fields}</Error>`;
  res.statusCode = err.status;
  res.setHeader('content-type', 'application/xml');
  res.setHeader('x-amz-request-id', requestId);
  // HEAD responses carry no body; S3 still sends the status (and clients read the code from it).
  res.setHeader('content-length', isHead ? 0 : Buffer.byteLength(body));
  res.end(isHead ? undefined : body);
}
