import type { Handler, RequestContext, ProxyServices } from '../context.js';
import { parseCopySource } from '../s3/copy-source.js';
import { forwardRequestHeaders, forwardResponseHeaders, headerValue } from '../s3/headers.js';
import { assertCopyAllowed } from './copy-policy.js';
import { relayResponse } from './relay.js';
import { hasRequestBody, md5Base64, readVerifiedBody, verifiedBodyStream } from './request-body.js';

/**
 * Calls that carry no object data (bucket calls, deletes, tagging, ACLs, listings of
 * uploads): verified, then forwarded unchanged and re-signed. A small body is read whole
 * (verified) and sent with a Content-MD5, which some S3 calls require.
 */
export const handleForward: Handler = async (ctx, services) => {
  const headers = forwardRequestHeaders(ctx.req.headers);
  let body: Buffer | undefined;
  if (hasRequestBody(ctx)) {
    body = await readVerifiedBody(ctx);
    if (body.length > 0 && headers['content-md5'] === undefined) headers['content-md5'] = md5Base64(body);
  }
  const up = await services.upstream.send({
    method: ctx.req.method ?? 'GET',
    bucket: ctx.target.bucket,
    key: ctx.target.key,
    query: ctx.target.query,
    headers,
    body,
    signal: ctx.signal,
  });
  await relayResponse(ctx, up, forwardResponseHeaders(up.headers));
};

/**
 * A bucket outside the encrypted set, in pass-through mode: any call, object bodies
 * included, goes through as is (streamed, verified, re-signed).
 */
export async function forwardUnencrypted(ctx: RequestContext, services: ProxyServices): Promise<void> {
  // A copy into this bucket reads another one, which the bucket policy must allow too.
  if (ctx.action === 'CopyObject' || ctx.action === 'UploadPartCopy') {
    const source = parseCopySource(headerValue(ctx.req.headers, 'x-amz-copy-source')!);
    assertCopyAllowed(source, false, services);
  }
  // Object data (a PUT or a part) is streamed; other bodies are small and read whole.
  const isObjectData = ctx.action === 'PutObject' || ctx.action === 'UploadPart';
  if (!hasRequestBody(ctx) || !isObjectData) return handleForward(ctx, services);
  const { stream, length, done } = verifiedBodyStream(ctx);
  const headers = forwardRequestHeaders(ctx.req.headers);
  headers['content-length'] = String(length);
  const [up] = await Promise.all([
    services.upstream.send({
      method: 'PUT',
      bucket: ctx.target.bucket,
      key: ctx.target.key,
      query: ctx.target.query,
      headers,
      body: stream,
      signal: ctx.signal,
    }),
    done,
  ]);
  await relayResponse(ctx, up, forwardResponseHeaders(up.headers));
}
