import type { ProxyServices, RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';
import { headerValue } from '../s3/headers.js';
import { throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import type { KnownLayout } from './layout-cache.js';
import { guessLayout, layoutFromPartSizes, partsCountOfEtag } from './multipart-layout.js';

/** One version of a stored object: every request after the first is pinned to its backend ETag. */
export interface ObjectVersion {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | undefined;
  /** The backend's ETag of this version (for a multipart object, `"…-N"`). */
  readonly etag: string;
}

/** Per-part HEADs in flight at once when a layout must be asked part by part. */
const PART_HEAD_CONCURRENCY = 8;

/**
 * The layout of a multipart object (docs/FORMAT.md §5a): from the cache, else from part 1's
 * stored size and the part count (one HEAD ?partNumber=1), else from every part's size.
 */
export async function multipartLayout(
  ctx: RequestContext,
  services: ProxyServices,
  version: ObjectVersion,
  chunkSize: number,
  totalSealedBytes: number,
): Promise<KnownLayout> {
  const cached = services.layouts.get(version.bucket, version.key, version.etag);
  if (cached && cached.layout.chunkSize === chunkSize) return cached;
  const first = await headPart(ctx, services, version, 1);
  const partsCount =
    Number(headerValue(first.headers, 'x-amz-mp-parts-count') ?? NaN) || partsCountOfEtag(version.etag) || 1;
  const guess = guessLayout(chunkSize, partsCount, partLength(first, 1), totalSealedBytes);
  if (guess?.isTrusted) {
    const known: KnownLayout = { layout: guess.layout, isExact: guess.isExact, headers: new Map() };
    services.layouts.set(version.bucket, version.key, version.etag, known);
    return known;
  }
  return exactMultipartLayout(ctx, services, version, chunkSize, partsCount, totalSealedBytes);
}

/** The layout from every part's stored size (HEAD ?partNumber=i), cached as exact. */
export async function exactMultipartLayout(
  ctx: RequestContext,
  services: ProxyServices,
  version: ObjectVersion,
  chunkSize: number,
  partsCount: number,
  totalSealedBytes: number,
): Promise<KnownLayout> {
  const sizes = new Array<number>(partsCount);
  let next = 1;
  const worker = async (): Promise<void> => {
    while (next <= partsCount) {
      const part = next++;
      sizes[part - 1] = partLength(await headPart(ctx, services, version, part), part);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_HEAD_CONCURRENCY, partsCount) }, worker));
  const layout = layoutFromPartSizes(chunkSize, sizes);
  if (layout.sealedSize !== totalSealedBytes) {
    throw new S3Error(
      'DecryptionFailed',
      `the parts of ${version.key} add up to ${layout.sealedSize} stored bytes, the object has ${totalSealedBytes}`,
    );
  }
  const known: KnownLayout = { layout, isExact: true, headers: new Map() };
  services.layouts.set(version.bucket, version.key, version.etag, known);
  return known;
}

async function headPart(
  ctx: RequestContext,
  services: ProxyServices,
  version: ObjectVersion,
  partNumber: number,
): Promise<UpstreamResponse> {
  const query: [string, string][] = [['partNumber', String(partNumber)]];
  if (version.versionId !== undefined) query.push(['versionId', version.versionId]);
  const up = await services.upstream.send({
    method: 'HEAD',
    bucket: version.bucket,
    key: version.key,
    query,
    headers: { 'if-match': version.etag },
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) await throwUpstreamError(up);
  await up.body.dump();
  return up;
}

function partLength(up: UpstreamResponse, partNumber: number): number {
  const length = Number(headerValue(up.headers, 'content-length') ?? NaN);
  if (!Number.isSafeInteger(length)) {
    throw new S3Error('InternalError', `the backend did not report the size of part ${partNumber}`);
  }
  return length;
}
