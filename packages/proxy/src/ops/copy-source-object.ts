import type { ProxyServices, RequestContext } from '../context.js';
import { evaluateConditions } from '../s3/conditions.js';
import { copySourceConditions } from '../s3/copy-source.js';
import type { CopySource } from '../s3/copy-source.js';
import { S3Error } from '../s3/errors.js';
import { headerValue } from '../s3/headers.js';
import { throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import { openStoredObject } from './stored-object.js';
import type { OpenedObject } from './stored-object.js';

/** The source of a copy, as its HEAD described it. */
export interface CopySourceObject {
  readonly head: UpstreamResponse;
  /** Undefined for a source stored as is (a pass-through bucket, or a legacy object). */
  readonly sealed: OpenedObject | undefined;
  /** The backend's ETag of the version read: later reads are pinned to it. */
  readonly backendEtag: string;
  /** Plaintext bytes. */
  readonly size: number;
}

/**
 * HEADs a copy source (CopyObject, UploadPartCopy), opens it when encrypted and evaluates the
 * x-amz-copy-source-if-* conditions against what the client knows of it (its plaintext ETag).
 */
export async function openCopySource(
  ctx: RequestContext,
  services: ProxyServices,
  source: CopySource,
): Promise<CopySourceObject> {
  const head = await services.upstream.send({
    method: 'HEAD',
    bucket: source.bucket,
    key: source.key,
    query: source.versionId === undefined ? [] : [['versionId', source.versionId]],
    signal: ctx.signal,
  });
  if (head.statusCode >= 300) await throwUpstreamError(head);
  await head.body.dump();
  const sealed = services.isEncryptedBucket(source.bucket)
    ? await openStoredObject(ctx, services, head, source)
    : undefined;
  const backendEtag = headerValue(head.headers, 'etag') ?? '';
  const modified = headerValue(head.headers, 'last-modified');
  const outcome = evaluateConditions(
    copySourceConditions(ctx.req.headers),
    sealed?.etagAliases ?? backendEtag,
    modified ? new Date(modified) : undefined,
  );
  if (outcome !== 'proceed') throw new S3Error('PreconditionFailed');
  const size = sealed
    ? sealed.layout.plaintextSize
    : Number(headerValue(head.headers, 'content-length') ?? NaN);
  if (!Number.isSafeInteger(size))
    throw new S3Error('InternalError', 'the copy source did not report its size');
  return { head, sealed, backendEtag, size };
}
