import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { describeLayout, isSealedMetadata } from '@s3seal/core';
import type { ObjectLayout, SealedObjectInfo } from '@s3seal/core';
import type { ProxyServices, RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';
import { headerValue, storedMetadata } from '../s3/headers.js';
import { queryValue } from '../s3/request-target.js';
import type { KnownLayout } from './layout-cache.js';
import { multipartLayout } from './object-layout.js';
import type { ObjectVersion } from './object-layout.js';
import { clientEtag, etagAliases } from '../s3/etag.js';

/** An encrypted object as the backend described it in a HEAD or GET response. */
export interface OpenedObject {
  readonly version: ObjectVersion;
  readonly info: SealedObjectInfo;
  readonly dek: Buffer;
  /** The key of a single-PUT object's one segment (derived once, see opened-keys.ts). */
  readonly singleKey: () => KeyObject;
  readonly layout: ObjectLayout;
  /** A multipart object's parts as far as known (its layout is `layout`); undefined for a single PUT. */
  readonly parts: KnownLayout | undefined;
  /** The ETag the client sees. */
  readonly etag: string;
  /** Every ETag a client may hold for it: the HEAD one and the listing one. */
  readonly etagAliases: readonly string[];
  readonly lastModified: Date | undefined;
}

/** Where an object is, as a request names it: the request's own object, or a copy source. */
export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | undefined;
}

export function requestedObject(ctx: RequestContext): ObjectLocation {
  return { bucket: ctx.target.bucket!, key: ctx.target.key!, versionId: queryValue(ctx.target, 'versionId') };
}

/**
 * Reads the object's s3seal metadata and unwraps its key; for a multipart object, finds its
 * part layout (cached per version). Returns undefined for an object without s3seal metadata
 * when S3SEAL_LEGACY=passthrough; refuses it otherwise.
 */
export async function openStoredObject(
  ctx: RequestContext,
  services: ProxyServices,
  up: { readonly statusCode: number; readonly headers: IncomingHttpHeaders },
  location: ObjectLocation = requestedObject(ctx),
): Promise<OpenedObject | undefined> {
  const metadata = storedMetadata(up.headers);
  if (!isSealedMetadata(metadata)) {
    if (services.config.legacy === 'passthrough') return undefined;
    throw new S3Error(
      'ObjectNotEncrypted',
      'The object has no s3seal metadata (it was not written through s3seal). Set S3SEAL_LEGACY=passthrough to serve such objects as stored.',
    );
  }
  const { info, dek, singleKey } = await services.openedKeys.open(services.keys(), metadata, location);
  const backendEtag = headerValue(up.headers, 'etag') ?? '';
  const version: ObjectVersion = { ...location, etag: backendEtag };
  let layout: ObjectLayout;
  let parts: KnownLayout | undefined;
  if (info.layout === 'multipart') {
    const total = storedTotal(up.statusCode, up.headers);
    if (total === undefined) throw new S3Error('InternalError', 'the backend did not report the stored size');
    parts = await multipartLayout(ctx, services, version, info.chunkSize, total);
    layout = parts.layout;
  } else {
    layout = describeLayout(info.chunkSize, [{ plaintextSize: info.plaintextSize ?? 0, headerBytes: 0 }]);
  }
  const modified = headerValue(up.headers, 'last-modified');
  return {
    version,
    info,
    dek,
    singleKey,
    layout,
    parts,
    etag: clientEtag(info.plaintextMd5, backendEtag),
    etagAliases: etagAliases(info.plaintextMd5, backendEtag),
    lastModified: modified === undefined ? undefined : new Date(modified),
  };
}

/** Whether a backend response describes an object written through s3seal. */
export function isSealedResponse(headers: IncomingHttpHeaders): boolean {
  return isSealedMetadata(storedMetadata(headers));
}

/** The stored size the backend reports must be the one the metadata implies, or the object was altered. */
export function assertStoredSize(object: OpenedObject, storedBytes: number | undefined): void {
  const expected = object.layout.sealedSize;
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
