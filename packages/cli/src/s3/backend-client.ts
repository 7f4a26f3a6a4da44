import {
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { HeadObjectCommandOutput, StorageClass } from '@aws-sdk/client-s3';
import type { BackendConfig } from '../config.js';

/** An S3 client for the backend itself (never the proxy): the CLI reads and writes stored bytes. */
export function createBackendClient(config: BackendConfig): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
  });
}

/** One entry of a listing. */
export interface ListedObject {
  readonly key: string;
  readonly sizeBytes: number;
}

/** Every object under a prefix (ListObjectsV2, page by page). */
export async function* listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const entry of page.Contents ?? []) {
      if (entry.Key !== undefined) yield { key: entry.Key, sizeBytes: entry.Size ?? 0 };
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/**
 * What describes an object besides its body and user metadata, to carry over when the CLI
 * writes it anew (a multipart copy, a re-encryption) or replaces its metadata (a self-copy with
 * MetadataDirective REPLACE, which otherwise resets them). Server-side encryption is carried
 * as the type and KMS key id; ACLs, object-lock settings and checksums are not.
 */
export interface DescribingHeaders {
  ContentType?: string;
  ContentEncoding?: string;
  ContentDisposition?: string;
  ContentLanguage?: string;
  CacheControl?: string;
  Expires?: Date;
  WebsiteRedirectLocation?: string;
  StorageClass?: StorageClass;
  ServerSideEncryption?: HeadObjectCommandOutput['ServerSideEncryption'];
  SSEKMSKeyId?: string;
}

export function describingHeaders(head: HeadObjectCommandOutput): DescribingHeaders {
  const out: DescribingHeaders = {};
  if (head.ContentType !== undefined) out.ContentType = head.ContentType;
  if (head.ContentEncoding !== undefined) out.ContentEncoding = head.ContentEncoding;
  if (head.ContentDisposition !== undefined) out.ContentDisposition = head.ContentDisposition;
  if (head.ContentLanguage !== undefined) out.ContentLanguage = head.ContentLanguage;
  if (head.CacheControl !== undefined) out.CacheControl = head.CacheControl;
  if (head.Expires !== undefined) out.Expires = head.Expires;
  if (head.WebsiteRedirectLocation !== undefined) out.WebsiteRedirectLocation = head.WebsiteRedirectLocation;
  // A write without a storage class lands in STANDARD: name any other explicitly.
  if (head.StorageClass !== undefined && head.StorageClass !== 'STANDARD')
    out.StorageClass = head.StorageClass;
  if (head.ServerSideEncryption !== undefined) out.ServerSideEncryption = head.ServerSideEncryption;
  if (head.SSEKMSKeyId !== undefined) out.SSEKMSKeyId = head.SSEKMSKeyId;
  return out;
}

/**
 * An object's tags as the `Tagging` header of a write takes them (URL query form), or undefined
 * when it has none. A backend without tagging (NotImplemented) has none to keep.
 */
export async function readTagging(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<string | undefined> {
  let tags: { Key?: string | undefined; Value?: string | undefined }[];
  try {
    tags = (await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
  } catch (err: unknown) {
    if (err instanceof S3ServiceException && err.name === 'NotImplemented') return undefined;
    throw err;
  }
  if (tags.length === 0) return undefined;
  return tags.map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`).join('&');
}

/** The `x-amz-copy-source` value for an object: bucket/key, each key segment URL-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
