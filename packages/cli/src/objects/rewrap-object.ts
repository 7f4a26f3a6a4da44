import { CopyObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { isWrappedWithActiveKek, rewrapObjectMetadata } from '@s3seal/core';
import type { KeySources } from '@s3seal/core';
import { copySource, describingHeaders, readTagging } from '../s3/backend-client.js';
import { copyObjectInParts } from '../s3/multipart-copy.js';
import type { ByteRange } from '../s3/multipart-copy.js';
import { readLayout } from '../s3/stored-object.js';
import type { SealedObject } from '../s3/stored-object.js';

/** S3 copies at most 5 GiB in one CopyObject; beyond that only part by part. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;
/** Range size when a large single-PUT object is copied part by part (its layout has no parts to keep). */
const SINGLE_COPY_PART_BYTES = 1024 ** 3;

export interface RewrapResult {
  /** `current`: already under the active key source's current key, left alone. */
  readonly status: 'rewrapped' | 'would-rewrap' | 'current';
  /** `<key source>:<version>` before and after. */
  readonly from: string;
  readonly to: string;
}

/**
 * Re-wraps one object's data key with the active key source (a rotated KEK or Transit key, or
 * another key manager a policy moved to), in the backend, without
 * re-encrypting it: the DEK and so the sealed body stay valid (docs/FORMAT.md §1). The object
 * is rewritten onto itself server-side with new metadata, pinned to the ETag read, so a
 * concurrent overwrite fails this object (PreconditionFailed) instead of being replaced.
 *
 * - A single-PUT object up to 5 GiB: CopyObject onto itself, MetadataDirective REPLACE (the new
 *   user metadata, and the content headers, storage class and SSE settings read by the HEAD,
 *   which REPLACE would otherwise reset), tags kept by the default TaggingDirective COPY.
 * - A multipart object: a CopyObject would store it as one part and its part headers would no
 *   longer be where a reader looks, so it is copied part by part, each part the exact stored
 *   range of the original part (tags read and set on the new upload).
 * - A single-PUT object over 5 GiB: copied in 1 GiB ranges (its layout ignores backend parts).
 */
export async function rewrapObject(
  client: S3Client,
  sources: KeySources,
  object: SealedObject,
  options: { isDryRun: boolean },
): Promise<RewrapResult> {
  const from = `${object.info.kek.keyringId}:${object.info.kek.version}`;
  if (isWrappedWithActiveKek(sources, object.info)) return { status: 'current', from, to: from };
  // Unwraps before anything is written (or in a dry run): a missing KEK version fails here.
  const { metadata, envelope } = await rewrapObjectMetadata(sources, object.metadata, {
    from: { bucket: object.bucket, key: object.key },
  });
  const to = `${envelope.info.kek.keyringId}:${envelope.info.kek.version}`;
  if (options.isDryRun) return { status: 'would-rewrap', from, to };

  const headers = describingHeaders(object.head);
  if (object.info.layout === 'single' && object.storedBytes <= MAX_COPY_OBJECT_BYTES) {
    await client.send(
      new CopyObjectCommand({
        ...headers,
        Bucket: object.bucket,
        Key: object.key,
        CopySource: copySource(object.bucket, object.key),
        CopySourceIfMatch: object.etag,
        MetadataDirective: 'REPLACE',
        Metadata: metadata,
      }),
    );
    return { status: 'rewrapped', from, to };
  }
  const ranges = await copyRanges(client, object);
  const tagging = await readTagging(client, object.bucket, object.key);
  await copyObjectInParts(client, object, ranges, {
    ...headers,
    Metadata: metadata,
    ...(tagging !== undefined ? { Tagging: tagging } : {}),
  });
  return { status: 'rewrapped', from, to };
}

/** The stored ranges a part-by-part copy keeps: each original part exactly, or slices of a single PUT. */
async function copyRanges(client: S3Client, object: SealedObject): Promise<ByteRange[]> {
  const { layout } = await readLayout(client, object);
  if (object.info.layout === 'multipart') {
    return layout.segments.map((s) => ({ start: s.sealedOffset, end: s.sealedOffset + s.sealedSize }));
  }
  const ranges: ByteRange[] = [];
  for (let start = 0; start < layout.sealedSize; start += SINGLE_COPY_PART_BYTES) {
    ranges.push({ start, end: Math.min(layout.sealedSize, start + SINGLE_COPY_PART_BYTES) });
  }
  return ranges;
}
