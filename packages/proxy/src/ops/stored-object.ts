import type { IncomingHttpHeaders } from 'node:http';
import { describeLayout, isSealedMetadata, openEnvelope, sealedSize } from '@s3seal/core';
import type { ObjectLayout, SealedObjectInfo } from '@s3seal/core';
import type { ProxyServices, RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';
import { headerValue, storedMetadata } from '../s3/headers.js';
import { plaintextEtag } from './put-object.js';

/** An encrypted object as the backend described it in a HEAD or GET response. */
export interface OpenedObject {
  readonly info: SealedObjectInfo;
  readonly dek: Buffer;
  readonly layout: ObjectLayout;
  readonly etag: string;
  readonly lastModified: Date | undefined;
}

/**
 * Reads the object's s3seal metadata and unwraps its key. Returns undefined for an object
 * without s3seal metadata when S3SEAL_LEGACY=passthrough; refuses it otherwise.
 */
export function openStoredObject(
  ctx: RequestContext,
  services: ProxyServices,
  headers: IncomingHttpHeaders,
): OpenedObject | undefined {
  const metadata = storedMetadata(headers);
  if (!isSealedMetadata(metadata)) {
    if (services.config.legacy === 'passthrough') return undefined;
    throw new S3Error(
      'ObjectNotEncrypted',
      'The object has no s3seal metadata (it was not written through s3seal). Set S3SEAL_LEGACY=passthrough to serve such objects as stored.',
    );
  }
  const { info, dek } = openEnvelope(services.keyring(), metadata, ctx.target.key!);
  if (info.layout !== 'single') {
    throw new S3Error('NotImplemented', 'reading multipart objects through s3seal is not available yet');
  }
  const layout = describeLayout(info.chunkSize, [{ plaintextSize: info.plaintextSize ?? 0, headerBytes: 0 }]);
  const modified = headerValue(headers, 'last-modified');
  return {
    info,
    dek,
    layout,
    etag: plaintextEtag(info.plaintextMd5, headerValue(headers, 'etag')),
    lastModified: modified === undefined ? undefined : new Date(modified),
  };
}

/** The stored size the backend reports must be the one the metadata implies, or the object was altered. */
export function assertStoredSize(object: OpenedObject, storedBytes: number | undefined): void {
  const expected = sealedSize(object.layout.plaintextSize, object.info.chunkSize);
  if (storedBytes !== undefined && storedBytes !== expected) {
    throw new S3Error(
      'DecryptionFailed',
      `the stored object is ${storedBytes} bytes but its metadata implies ${expected}: it was altered in the backend`,
    );
  }
}

/** Total stored size from a 200 (Content-Length) or 206 (Content-Range: bytes a-b/total). */
export function storedTotal(status: number, headers: IncomingHttpHeaders): number | undefined {
  if (status === 206) {
    const total = /\/(\d+)$/.exec(headerValue(headers, 'content-range') ?? '')?.[1];
    return total === undefined ? undefined : Number(total);
  }
  const length = headerValue(headers, 'content-length');
  return length === undefined ? undefined : Number(length);
}
