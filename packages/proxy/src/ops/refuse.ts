import type { Handler } from '../context.js';
import { S3Error } from '../s3/errors.js';

/**
 * Calls that would move object data past the encryption, or read it in a form the proxy
 * cannot decrypt, refused with a reason rather than forwarded.
 */
const REASONS: Partial<Record<string, string>> = {
  CreateMultipartUpload:
    'multipart uploads through s3seal are not available yet; configure the client to upload in one PUT (e.g. aws cli: multipart_threshold, rclone: --s3-upload-cutoff) — plaintext parts are never forwarded',
  UploadPart: 'multipart uploads through s3seal are not available yet',
  UploadPartCopy: 'multipart uploads through s3seal are not available yet',
  CompleteMultipartUpload: 'multipart uploads through s3seal are not available yet',
  SelectObjectContent: 'S3 Select runs on stored bytes, which s3seal keeps encrypted',
  GetObjectTorrent: 'torrents would expose stored (encrypted) bytes',
  GetObjectAttributes: 'GetObjectAttributes is not supported on encrypted objects yet; use HeadObject',
  PostObject: 'browser form uploads (POST Object) cannot be encrypted by s3seal; use PutObject',
};

export const handleRefuse: Handler = (ctx) => {
  return Promise.reject(
    new S3Error('NotImplemented', `${ctx.action}: ${REASONS[ctx.action] ?? 'not supported through s3seal'}`),
  );
};
