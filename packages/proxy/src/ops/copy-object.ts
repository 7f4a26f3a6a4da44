import { rewrapEnvelope, sealedSize } from '@s3seal/core';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { evaluateConditions } from '../s3/conditions.js';
import { copySourceConditions, parseCopySource } from '../s3/copy-source.js';
import type { CopySource } from '../s3/copy-source.js';
import { S3Error } from '../s3/errors.js';
import {
  clientMetadata,
  headerValue,
  objectResponseHeaders,
  objectWriteHeaders,
  storedMetadata,
} from '../s3/headers.js';
import { buildXml, parseXml } from '../s3/xml.js';
import { MAX_XML_RESPONSE_BYTES, readCappedBody, throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import { encodeKeyPath } from '../upstream/uri-encode.js';
import { handleForward } from './forward.js';
import { plaintextEtag, uploadSealed } from './put-object.js';
import { openStoredObject } from './stored-object.js';

/** S3 copies at most 5 GiB in one CopyObject; larger objects need a multipart copy. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** Content headers that a COPY directive carries from the source object to the copy. */
const CONTENT_HEADERS = [
  'content-type',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
];

/**
 * CopyObject. An encrypted source is copied server-side, untouched: the proxy unwraps its data
 * key for the source name, wraps it for the destination name and writes new metadata (the
 * data key is bound to the object key, see docs/FORMAT.md). The copy is pinned with
 * x-amz-copy-source-if-match to the version whose metadata was read. A source without s3seal
 * metadata (an unencrypted bucket, or a legacy object) is read, encrypted and written anew.
 */
export const handleCopyObject: Handler = async (ctx, services) => {
  const source = parseCopySource(headerValue(ctx.req.headers, 'x-amz-copy-source')!);
  const isSourceEncrypted = services.isEncryptedBucket(source.bucket);
  if (!ctx.isEncrypted) {
    if (isSourceEncrypted) {
      throw new S3Error(
        'AccessDenied',
        `copying from encrypted bucket ${source.bucket} into unencrypted bucket ${ctx.target.bucket!} would store plaintext`,
      );
    }
    return handleForward(ctx, services);
  }
  const directive = (headerValue(ctx.req.headers, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new S3Error('InvalidArgument', 'x-amz-metadata-directive must be COPY or REPLACE');
  if (
    source.bucket === ctx.target.bucket &&
    source.key === ctx.target.key &&
    directive === 'COPY' &&
    source.versionId === undefined
  ) {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }

  const head = await services.upstream.send({
    method: 'HEAD',
    bucket: source.bucket,
    key: source.key,
    query: source.versionId === undefined ? [] : [['versionId', source.versionId]],
    signal: ctx.signal,
  });
  if (head.statusCode >= 300) await throwUpstreamError(head);
  await head.body.dump();
  const sourceMetadata = storedMetadata(head.headers);
  const sourceCtx: RequestContext = {
    ...ctx,
    target: { ...ctx.target, bucket: source.bucket, key: source.key },
  };
  const sealed = isSourceEncrypted ? openStoredObject(sourceCtx, services, head.headers) : undefined;
  const sourceEtag = sealed?.etag ?? headerValue(head.headers, 'etag') ?? '';
  const modified = headerValue(head.headers, 'last-modified');
  const outcome = evaluateConditions(
    copySourceConditions(ctx.req.headers),
    sourceEtag,
    modified ? new Date(modified) : undefined,
  );
  if (outcome !== 'proceed') throw new S3Error('PreconditionFailed');

  // What the copy says about itself: the source's description (COPY) or the request's (REPLACE).
  const describing = directive === 'COPY' ? head.headers : ctx.req.headers;
  const headers = objectWriteHeaders(ctx.req.headers);
  for (const name of CONTENT_HEADERS) delete headers[name];
  const content = objectResponseHeaders(describing);
  for (const name of CONTENT_HEADERS) if (content[name] !== undefined) headers[name] = content[name];
  const userMetadata = clientMetadata(describing);
  for (const name of Object.keys(userMetadata)) if (name.startsWith('s3seal-')) delete userMetadata[name];
  const tagging = headerValue(ctx.req.headers, 'x-amz-tagging-directive');

  if (!sealed) {
    return reencrypt(ctx, services, source, head, headers, userMetadata);
  }
  if (sealedSize(sealed.layout.plaintextSize, sealed.info.chunkSize) > MAX_COPY_BYTES) {
    throw new S3Error(
      'NotImplemented',
      'copies of objects over 5 GiB need a multipart copy, which s3seal does not do yet',
    );
  }
  const rewrapped = rewrapEnvelope(services.keyring(), sourceMetadata, source.key, ctx.target.key);
  for (const [name, value] of Object.entries(userMetadata)) headers[`x-amz-meta-${name}`] = value;
  for (const [name, value] of Object.entries(rewrapped.metadata)) headers[`x-amz-meta-${name}`] = value;
  headers['x-amz-copy-source'] = copySourceHeader(source);
  headers['x-amz-metadata-directive'] = 'REPLACE';
  headers['x-amz-copy-source-if-match'] = headerValue(head.headers, 'etag') ?? '*';
  if (tagging !== undefined) headers['x-amz-tagging-directive'] = tagging;
  const up = await services.upstream.send({
    method: 'PUT',
    bucket: ctx.target.bucket,
    key: ctx.target.key,
    headers,
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) await throwUpstreamError(up);
  await sendCopyResult(ctx, up, rewrapped.info.plaintextMd5);
};

/** A source without s3seal metadata: streamed through the decryptor-free path into a sealed PUT. */
async function reencrypt(
  ctx: RequestContext,
  services: ProxyServices,
  source: CopySource,
  head: UpstreamResponse,
  headers: Record<string, string>,
  userMetadata: Record<string, string>,
): Promise<void> {
  if (services.isEncryptedBucket(source.bucket) && services.config.legacy === 'reject') {
    throw new S3Error(
      'ObjectNotEncrypted',
      'The copy source has no s3seal metadata. Set S3SEAL_LEGACY=passthrough to encrypt such objects when copied.',
    );
  }
  const size = Number(headerValue(head.headers, 'content-length') ?? NaN);
  if (!Number.isSafeInteger(size))
    throw new S3Error('InternalError', 'the copy source did not report its size');
  const get = await services.upstream.send({
    method: 'GET',
    bucket: source.bucket,
    key: source.key,
    query: source.versionId === undefined ? [] : [['versionId', source.versionId]],
    headers: { 'if-match': headerValue(head.headers, 'etag') ?? '*' },
    signal: ctx.signal,
  });
  if (get.statusCode >= 300) await throwUpstreamError(get);
  const { envelope, up } = await uploadSealed(ctx, services, {
    plaintext: get.body,
    plaintextSize: size,
    plaintextMd5: undefined,
    headers,
    userMetadata,
  });
  const result = {
    CopyObjectResult: {
      ETag: plaintextEtag(envelope.info.plaintextMd5, headerValue(up.headers, 'etag')),
      LastModified: new Date().toISOString(),
    },
  };
  writeXml(ctx, result);
}

async function sendCopyResult(
  ctx: RequestContext,
  up: UpstreamResponse,
  md5: Buffer | undefined,
): Promise<void> {
  const doc = parseXml((await readCappedBody(up.body, MAX_XML_RESPONSE_BYTES)).toString('utf8'));
  const result = doc['CopyObjectResult'] as Record<string, unknown> | undefined;
  // The copy's stored bytes are the source's, so the backend's ETag is already the one a HEAD
  // of the copy will show, unless the object records its plaintext MD5.
  if (result && md5 !== undefined) result['ETag'] = plaintextEtag(md5, undefined);
  const versionId = headerValue(up.headers, 'x-amz-version-id');
  writeXml(ctx, doc, versionId);
}

function writeXml(ctx: RequestContext, doc: Record<string, unknown>, versionId?: string): void {
  const body = Buffer.from(buildXml(doc), 'utf8');
  const headers: Record<string, string> = {
    'content-type': 'application/xml',
    'content-length': String(body.length),
    'x-amz-request-id': ctx.requestId,
  };
  if (versionId !== undefined) headers['x-amz-version-id'] = versionId;
  ctx.res.writeHead(200, headers);
  ctx.res.end(body);
}

function copySourceHeader(source: CopySource): string {
  const path = `/${source.bucket}/${encodeKeyPath(source.key)}`;
  return source.versionId === undefined ? path : `${path}?versionId=${encodeURIComponent(source.versionId)}`;
}
