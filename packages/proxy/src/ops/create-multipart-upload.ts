import { assertClientMetadataFits, sealEnvelopeWith } from '@s3seal/core';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';
import { clientMetadata, headerValue, objectWriteHeaders } from '../s3/headers.js';
import { parseXml } from '../s3/xml.js';
import { MAX_XML_RESPONSE_BYTES, readCappedBody, throwUpstreamError } from '../upstream/read-response.js';
import { passedHeaders, requireUploads } from './multipart-upload.js';
import { sendXml } from './xml-response.js';

/** Response headers of the backend's answer that describe the upload (its lifecycle, SSE) for the client. */
const RESPONSE_HEADERS = [
  'x-amz-abort-date',
  'x-amz-abort-rule-id',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-bucket-key-enabled',
];

/**
 * CreateMultipartUpload (docs/FORMAT.md §5a): draws the upload's data key, wraps it, and
 * creates the backend upload with the s3seal metadata, so the completed object carries it.
 * The state (metadata with the wrapped key, never the plaintext one) goes to Valkey under the
 * backend's upload id, which the client gets.
 */
export const handleCreateMultipartUpload: Handler = async (ctx, services) => {
  const store = requireUploads(ctx, services);
  const { config } = services;
  const key = ctx.target.key!;
  const envelope = await sealEnvelopeWith(services.keys(), ctx.target.bucket!, {
    objectKey: key,
    layout: 'multipart',
    algorithm: config.algorithm,
    chunkSize: config.chunkSize,
    bindObjectKey: config.bindObjectKey,
  });
  const userMetadata = clientMetadata(ctx.req.headers);
  assertClientMetadataFits(userMetadata, envelope.metadata);
  const headers = { ...objectWriteHeaders(ctx.req.headers), ...passedHeaders(ctx) };
  // Conditional writes belong to CompleteMultipartUpload, not here.
  delete headers['if-match'];
  delete headers['if-none-match'];
  for (const [name, value] of Object.entries(userMetadata)) headers[`x-amz-meta-${name}`] = value;
  for (const [name, value] of Object.entries(envelope.metadata)) headers[`x-amz-meta-${name}`] = value;

  const up = await services.upstream.send({
    method: 'POST',
    bucket: ctx.target.bucket,
    key,
    query: [['uploads', '']],
    headers,
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) await throwUpstreamError(up);
  const doc = parseXml((await readCappedBody(up.body, MAX_XML_RESPONSE_BYTES)).toString('utf8'));
  const result = doc['InitiateMultipartUploadResult'] as Record<string, unknown> | undefined;
  const uploadId = result?.['UploadId'];
  if (typeof uploadId !== 'string' || uploadId === '') {
    throw new S3Error('InternalError', 'the backend answered CreateMultipartUpload without an UploadId');
  }
  try {
    await store.create(uploadId, {
      bucket: ctx.target.bucket!,
      key,
      metadata: envelope.metadata,
      createdAt: new Date().toISOString(),
    });
  } catch (err: unknown) {
    // Without its state the upload can take no part: do not leave it open upstream.
    await abortUpstream(ctx, services, key, uploadId);
    throw err;
  }
  const extra: Record<string, string> = {};
  for (const name of RESPONSE_HEADERS) {
    const value = headerValue(up.headers, name);
    if (value !== undefined) extra[name] = value;
  }
  sendXml(ctx, doc, extra);
};

async function abortUpstream(
  ctx: RequestContext,
  services: ProxyServices,
  key: string,
  uploadId: string,
): Promise<void> {
  try {
    const up = await services.upstream.send({
      method: 'DELETE',
      bucket: ctx.target.bucket,
      key,
      query: [['uploadId', uploadId]],
      signal: ctx.signal,
    });
    await up.body.dump();
  } catch (err: unknown) {
    services.log.warn({ requestId: ctx.requestId, uploadId, err }, 'could not abort an upload without state');
  }
}
