import type { ProxyServices } from '../context.js';
import type { CopySource } from '../s3/copy-source.js';
import { S3Error } from '../s3/errors.js';

/**
 * Whether a copy (CopyObject, UploadPartCopy) may read its source. A copy names a second
 * bucket that the server's bucket check never saw, so S3SEAL_BUCKETS and S3SEAL_OTHER_BUCKETS
 * must hold for the source too:
 * - a source in a bucket the proxy refuses (S3SEAL_OTHER_BUCKETS=reject) is refused, as any
 *   request for that bucket is; else its objects could be read by copying them in;
 * - an encrypted source may not be copied into a bucket the proxy does not encrypt: the
 *   backend would copy the stored bytes, which clients of that bucket get as they are.
 */
export function assertCopyAllowed(
  source: CopySource,
  isTargetEncrypted: boolean,
  services: ProxyServices,
): void {
  const isSourceEncrypted = services.isEncryptedBucket(source.bucket);
  if (!isSourceEncrypted && services.config.otherBuckets === 'reject') {
    throw new S3Error(
      'AccessDenied',
      `copy source bucket ${source.bucket} is not among the buckets this proxy encrypts (S3SEAL_BUCKETS)`,
    );
  }
  if (isSourceEncrypted && !isTargetEncrypted) {
    throw new S3Error(
      'AccessDenied',
      `copying from encrypted bucket ${source.bucket} into a bucket this proxy does not encrypt would expose stored bytes there`,
    );
  }
}
