import type { Handler } from '../context.js';
import { S3Error } from '../s3/errors.js';

const MULTIPART_OFF =
  'multipart uploads are off in this proxy: they need S3SEAL_VALKEY_URL (upload state in Valkey) and S3SEAL_MULTIPART=encrypt (the default with a URL)';
/**
 * Calls that would move object data past the encryption, or read it in a form the proxy
 * cannot decrypt, refused with a reason rather than forwarded.
 */
const REASONS: Partial<Record<string, string>> = {
  CreateMultipartUpload: `${MULTIPART_OFF}; or configure the client to upload in one PUT (e.g. aws cli: multipart_threshold, rclone: --s3-upload-cutoff). Plaintext parts are never forwarded`,
  UploadPart: MULTIPART_OFF,
  UploadPartCopy: MULTIPART_OFF,
  CompleteMultipartUpload: MULTIPART_OFF,
  SelectObjectContent: 'S3 Select runs on stored bytes, which s3seal keeps encrypted',
  GetObjectTorrent: 'torrents would expose stored (encrypted) bytes',
  GetObjectAttributes: 'GetObjectAttributes is not supported on encrypted objects yet; use HeadObject',
  PostObject: 'browser form uploads (POST Object) cannot be encrypted by s3seal; use PutObject',
};

export const handleRefuse: Handler = (ctx) => {
  return Promise.reject(refusal(ctx.action));
};

/** The NotImplemented error an action that cannot be served gets, with its reason. */
export function refusal(action: string): S3Error {
  return new S3Error('NotImplemented', `${action}: ${REASONS[action] ?? 'not supported through s3seal'}`);
}
