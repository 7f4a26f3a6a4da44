import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { CreateMultipartUploadCommandInput, S3Client } from '@aws-sdk/client-s3';
import { CliError } from '../errors.js';
import { mapWithConcurrency } from '../bulk/concurrency.js';
import { copySource } from './backend-client.js';

/** A stored byte range, end exclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** UploadPartCopy calls in flight at once for one object. */
const PART_COPY_CONCURRENCY = 4;

/**
 * Rewrites an object onto itself server-side as a multipart upload whose part N is exactly
 * `ranges[N-1]` of the current version: CreateMultipartUpload (with the new metadata), one
 * UploadPartCopy per range, CompleteMultipartUpload. No byte passes through here. Every step
 * is pinned to `etag`: the part copies with x-amz-copy-source-if-match, and the completion
 * with If-Match, so a version written meanwhile is never replaced (S3 and MinIO both check
 * If-Match on CompleteMultipartUpload). On failure the upload is aborted.
 */
export async function copyObjectInParts(
  client: S3Client,
  target: { bucket: string; key: string; etag: string },
  ranges: readonly ByteRange[],
  create: Omit<CreateMultipartUploadCommandInput, 'Bucket' | 'Key'>,
): Promise<void> {
  const { bucket, key, etag } = target;
  const created = await client.send(
    new CreateMultipartUploadCommand({ ...create, Bucket: bucket, Key: key }),
  );
  const uploadId = created.UploadId!;
  try {
    const parts = await mapWithConcurrency(ranges, PART_COPY_CONCURRENCY, async (range, i) => {
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: i + 1,
          CopySource: copySource(bucket, key),
          CopySourceRange: `bytes=${range.start}-${range.end - 1}`,
          CopySourceIfMatch: etag,
        }),
      );
      return { PartNumber: i + 1, ETag: out.CopyPartResult?.ETag };
    });
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        IfMatch: etag,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (err: unknown) {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch (abortErr: unknown) {
      throw new CliError(
        'S3SEAL_CLI_UPLOAD_LEFT',
        `${err instanceof Error ? err.message : String(err)}; aborting upload ${uploadId} failed too (${abortErr instanceof Error ? abortErr.message : String(abortErr)}): remove it with an abort or a lifecycle rule`,
        { cause: err },
      );
    }
    throw err;
  }
}
