import type { Handler, ProxyServices, RequestContext } from '../context.js';
import type { UploadState, UploadStateStore } from '../state/upload-state-store.js';
import { isS3Error } from '../s3/errors.js';
import { forwardResponseHeaders } from '../s3/headers.js';
import { throwUpstreamError } from '../upstream/read-response.js';
import { handleForward } from './forward.js';
import { forgetUpload, passedHeaders, uploadIdOf } from './multipart-upload.js';
import { relayResponse } from './relay.js';

/**
 * AbortMultipartUpload: forwarded; then the upload's state is dropped, also when the backend
 * no longer knows the upload (and the state is this object's: an upload id sent with another
 * key must not end someone else's upload).
 */
export const handleAbortMultipartUpload: Handler = async (ctx, services) => {
  const store = services.uploads;
  if (!store) return handleForward(ctx, services);
  const uploadId = uploadIdOf(ctx);
  const up = await services.upstream.send({
    method: 'DELETE',
    bucket: ctx.target.bucket,
    key: ctx.target.key,
    query: [['uploadId', uploadId]],
    headers: passedHeaders(ctx),
    signal: ctx.signal,
  });
  if (up.statusCode < 300) {
    await forgetUpload(ctx, services, uploadId);
    await relayResponse(ctx, up, forwardResponseHeaders(up.headers));
    return;
  }
  try {
    await throwUpstreamError(up);
  } catch (err: unknown) {
    if (isS3Error(err, 'NoSuchUpload')) await forgetIfOurs(ctx, services, store, uploadId);
    throw err;
  }
};

async function forgetIfOurs(
  ctx: RequestContext,
  services: ProxyServices,
  store: UploadStateStore,
  uploadId: string,
): Promise<void> {
  let state: UploadState | undefined;
  try {
    state = await store.get(uploadId);
  } catch (err: unknown) {
    // The client gets the backend's NoSuchUpload either way; the state expires with its TTL.
    if (isS3Error(err, 'ServiceUnavailable')) return;
    throw err;
  }
  if (state !== undefined && state.bucket === ctx.target.bucket && state.key === ctx.target.key) {
    await forgetUpload(ctx, services, uploadId);
  }
}
