import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { decodeMetadata, METADATA_PREFIX, storedObjectLayout } from '@s3seal/core';
import type { ObjectLayout, SealedObjectInfo } from '@s3seal/core';
import { CliError } from '../errors.js';
import { mapWithConcurrency } from '../bulk/concurrency.js';

/** One version of an object as a HEAD found it; every later request is pinned to its ETag. */
export interface ObjectVersionBase {
  readonly bucket: string;
  readonly key: string;
  /** The backend's ETag (`"…-N"` for a multipart object). */
  readonly etag: string;
  readonly storedBytes: number;
  readonly head: HeadObjectCommandOutput;
  /** User metadata, names in lower case without `x-amz-meta-`. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** An object without s3seal metadata: written around s3seal, or before it was deployed. */
export interface LegacyObject extends ObjectVersionBase {
  readonly kind: 'legacy';
}

export interface SealedObject extends ObjectVersionBase {
  readonly kind: 'sealed';
  readonly info: SealedObjectInfo;
}

export type StoredObject = LegacyObject | SealedObject;

/** Per-part HEADs in flight at once. */
const PART_HEAD_CONCURRENCY = 8;

/**
 * HEADs an object and parses its s3seal metadata. An object with no `s3seal-` name at all is
 * legacy; one with some but not a valid set fails (S3SEAL_METADATA_INVALID), never "legacy":
 * re-encrypting or skipping it could lose the data it names.
 */
export async function readStoredObject(client: S3Client, bucket: string, key: string): Promise<StoredObject> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const metadata = head.Metadata ?? {};
  const base = {
    bucket,
    key,
    etag: head.ETag ?? '',
    storedBytes: head.ContentLength ?? 0,
    head,
    metadata,
  };
  const isLegacy = !Object.keys(metadata).some((name) => name.toLowerCase().startsWith(METADATA_PREFIX));
  if (isLegacy) return { ...base, kind: 'legacy' };
  return { ...base, kind: 'sealed', info: decodeMetadata(metadata) };
}

/**
 * The stored size of each backend part (`HEAD ?partNumber=N`, pinned to the ETag read), as
 * docs/FORMAT.md §5a lays a multipart object out. An object the backend does not report parts
 * for is one part.
 */
export async function readPartSizes(client: S3Client, object: ObjectVersionBase): Promise<number[]> {
  const head = (partNumber: number): Promise<HeadObjectCommandOutput> =>
    client.send(
      new HeadObjectCommand({
        Bucket: object.bucket,
        Key: object.key,
        PartNumber: partNumber,
        IfMatch: object.etag,
      }),
    );
  const first = await head(1);
  const count = first.PartsCount ?? 1;
  const sizes = [first.ContentLength ?? 0];
  const rest = Array.from({ length: count - 1 }, (_, i) => i + 2);
  sizes.push(
    ...(await mapWithConcurrency(
      rest,
      PART_HEAD_CONCURRENCY,
      async (n) => (await head(n)).ContentLength ?? 0,
    )),
  );
  return sizes;
}

/** The object's layout (its parts' sizes read for a multipart object), checked against its stored size. */
export async function readLayout(
  client: S3Client,
  object: SealedObject,
): Promise<{ layout: ObjectLayout; partSealedSizes: number[] | undefined }> {
  const partSealedSizes =
    object.info.layout === 'multipart' ? await readPartSizes(client, object) : undefined;
  const layout = storedObjectLayout(object.info, partSealedSizes);
  if (layout.sealedSize !== object.storedBytes) {
    throw new CliError(
      'S3SEAL_CLI_STORED_SIZE',
      `the backend stores ${object.storedBytes} bytes; the metadata${partSealedSizes ? ' and part sizes' : ''} imply ${layout.sealedSize}: the object was altered in the backend`,
    );
  }
  return { layout, partSealedSizes };
}
