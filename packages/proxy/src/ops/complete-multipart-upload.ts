import { decodeMetadata } from '@s3seal/core';
import type { Handler } from '../context.js';
import { isS3Error, S3_ERRORS, S3Error, upstreamS3Error } from '../s3/errors.js';
import type { S3ErrorCode } from '../s3/errors.js';
import { headerValue } from '../s3/headers.js';
import { buildXml, parseXml } from '../s3/xml.js';
import { MAX_XML_RESPONSE_BYTES, readCappedBody, throwUpstreamError } from '../upstream/read-response.js';
import { checkCompletion, parseCompleteRequest, unalignedParts } from './completion.js';
import { forgetUpload, loadUpload, passedHeaders, requireUploads, uploadIdOf } from './multipart-upload.js';
import { readVerifiedBody } from './request-body.js';
import { sendXml } from './xml-response.js';

/** Response headers of the completed object the client gets as the backend sent them. */
const RESPONSE_HEADERS = [
  'x-amz-version-id',
  'x-amz-expiration',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-bucket-key-enabled',
];

/**
 * CompleteMultipartUpload (docs/FORMAT.md §5a): the client's list is checked against the
 * recorded parts as S3 would, then completed upstream with the backend ETags. The answer is
 * the backend's: its ETag is the stored object's multipart ETag (`"…-N"`), which HeadObject
 * and GetObject return for the object too (a multipart object records no plaintext MD5).
 */
export const handleCompleteMultipartUpload: Handler = async (ctx, services) => {
  const store = requireUploads(ctx, services);
  const uploadId = uploadIdOf(ctx);
  const requested = parseCompleteRequest((await readVerifiedBody(ctx)).toString('utf8'));
  const state = await loadUpload(ctx, store, uploadId);
  const parts = checkCompletion(requested, await store.parts(uploadId));
  const chunkSize = decodeMetadata(state.metadata).chunkSize;
  const unaligned = unalignedParts(parts, chunkSize);
  if (unaligned.length > 0) {
    services.log.warn(
      { requestId: ctx.requestId, uploadId, parts: unaligned.slice(0, 10), chunkSize },
      'multipart parts are not whole chunks: listings show an approximate size for this object (HEAD and GET are exact)',
    );
  }

  const body = Buffer.from(
    buildXml({
      CompleteMultipartUpload: {
        '@_xmlns': 'http://s3.amazonaws.com/doc/2006-03-01/',
        Part: parts.map((p) => ({ PartNumber: String(p.partNumber), ETag: p.upstreamEtag })),
      },
    }),
    'utf8',
  );
  const headers: Record<string, string> = { ...passedHeaders(ctx), 'content-type': 'application/xml' };
  for (const name of ['if-match', 'if-none-match']) {
    const value = headerValue(ctx.req.headers, name);
    if (value !== undefined) headers[name] = value;
  }
  const up = await services.upstream.send({
    method: 'POST',
    bucket: ctx.target.bucket,
    key: state.key,
    query: [['uploadId', uploadId]],
    headers,
    body,
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) {
    try {
      await throwUpstreamError(up);
    } catch (err: unknown) {
      // The backend no longer has the upload: neither should the proxy.
      if (isS3Error(err, 'NoSuchUpload')) await forgetUpload(ctx, services, uploadId);
      throw err;
    }
  }
  // S3 answers 200 before it has finished and reports a failure in the body.
  const doc = parseXml((await readCappedBody(up.body, MAX_XML_RESPONSE_BYTES)).toString('utf8'));
  const failure = doc['Error'] as { Code?: string; Message?: string } | undefined;
  if (failure) {
    const code = failure.Code ?? 'InternalError';
    const status = code in S3_ERRORS ? S3_ERRORS[code as S3ErrorCode].status : 500;
    throw upstreamS3Error(code, status, failure.Message ?? 'the backend could not complete the upload');
  }
  const result = doc['CompleteMultipartUploadResult'] as Record<string, unknown> | undefined;
  if (!result)
    throw new S3Error('InternalError', 'the backend answered CompleteMultipartUpload without a result');
  // The backend's checksums describe stored (sealed) bytes, never the client's.
  for (const name of Object.keys(result)) if (name.startsWith('Checksum')) delete result[name];
  await forgetUpload(ctx, services, uploadId);
  const extra: Record<string, string> = {};
  for (const name of RESPONSE_HEADERS) {
    const value = headerValue(up.headers, name);
    if (value !== undefined) extra[name] = value;
  }
  sendXml(ctx, doc, extra);
};
