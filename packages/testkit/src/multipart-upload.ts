import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

/** A multipart upload of `parts` through `client` (the proxy), one UploadPart each. */
export async function putMultipart(
  client: S3Client,
  bucket: string,
  key: string,
  parts: readonly Buffer[],
  extra: { ContentType?: string; Metadata?: Record<string, string> } = {},
): Promise<void> {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }),
  );
  const done: { PartNumber: number; ETag: string | undefined }[] = [];
  for (const [i, body] of parts.entries()) {
    const out = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: body }),
    );
    done.push({ PartNumber: i + 1, ETag: out.ETag });
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: done },
    }),
  );
}
