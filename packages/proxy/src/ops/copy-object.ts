import type { SealedEnvelope } from '@s3seal/core';
import { rewrapObjectMetadata } from '@s3seal/core';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { parseCopySource } from '../s3/copy-source.js';
import type { CopySource } from '../s3/copy-source.js';
import { S3Error } from '../s3/errors.js';
import { clientEtag } from '../s3/etag.js';
import {
  CONTENT_HEADERS,
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
import { assertCopyAllowed } from './copy-policy.js';
import { openCopySource } from './copy-source-object.js';
import { handleForward } from './forward.js';
import { PlaintextReader } from './plaintext-reader.js';
import { uploadSealed } from './put-object.js';
import type { OpenedObject } from './stored-object.js';

/** S3 copies at most 5 GiB in one CopyObject; larger objects need a multipart copy. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/**
 * CopyObject. An encrypted source is copied server-side, untouched: the proxy unwraps its data
 * key for the source name, wraps it for the destination name and writes new metadata (the
 * data key is bound to the object key, see docs/FORMAT.md). The copy is pinned with
 * x-amz-copy-source-if-match to the version whose metadata was read. A source without s3seal
 * metadata (an unencrypted bucket, or a legacy object) is read, encrypted and written anew.
 */
export const handleCopyObject: Handler = async (ctx, services) => {
  const source = parseCopySource(headerValue(ctx.req.headers, 'x-amz-copy-source')!);
  assertCopyAllowed(source, ctx.isEncrypted, services);
  if (!ctx.isEncrypted) return handleForward(ctx, services);
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

  const { head, sealed } = await openCopySource(ctx, services, source);
  const sourceMetadata = storedMetadata(head.headers);

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
  if (sealed.layout.sealedSize > MAX_COPY_BYTES) {
    throw new S3Error(
      'NotImplemented',
      'copies of objects over 5 GiB need a multipart copy, which s3seal does not do yet',
    );
  }
  // A server-side copy of a multipart object is stored as one part: its part headers would no
  // longer be where a reader looks for them. So it is decrypted and sealed anew, as one PUT.
  if (sealed.parts) return reencryptMultipart(ctx, services, sealed, headers, userMetadata);
  const rewrapped = await rewrapObjectMetadata(services.keys(), sourceMetadata, {
    from: source,
    to: { bucket: ctx.target.bucket!, key: ctx.target.key! },
    clientMetadata: userMetadata,
  });
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
  await sendCopyResult(ctx, up, rewrapped.envelope.info.plaintextMd5);
};

/** A multipart source: its plaintext, read as GetObject reads it, into a sealed PUT. */
async function reencryptMultipart(
  ctx: RequestContext,
  services: ProxyServices,
  sealed: OpenedObject,
  headers: Record<string, string>,
  userMetadata: Record<string, string>,
): Promise<void> {
  const plaintext = new PlaintextReader(ctx, services, sealed, { kind: 'all' }).stream();
  try {
    const { envelope, up } = await uploadSealed(ctx, services, {
      plaintext,
      plaintextSize: sealed.layout.plaintextSize,
      plaintextMd5: undefined,
      headers,
      userMetadata,
    });
    writeReencryptedResult(ctx, envelope, up);
  } finally {
    // Let go of the source's connection when the write failed before reading it all.
    plaintext.destroy();
  }
}

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
  writeReencryptedResult(ctx, envelope, up);
}

/** The result of a copy written anew: S3's CopyObjectResult for the new object. */
function writeReencryptedResult(ctx: RequestContext, envelope: SealedEnvelope, up: UpstreamResponse): void {
  const result = {
    CopyObjectResult: {
      ETag: clientEtag(envelope.info.plaintextMd5, headerValue(up.headers, 'etag')),
      LastModified: new Date().toISOString(),
    },
  };
  writeXml(ctx, result, headerValue(up.headers, 'x-amz-version-id'));
}

async function sendCopyResult(
  ctx: RequestContext,
  up: UpstreamResponse,
  md5: Buffer | undefined,
): Promise<void> {
  const doc = parseXml((await readCappedBody(up.body, MAX_XML_RESPONSE_BYTES)).toString('utf8'));
  const result = doc['CopyObjectResult'] as Record<string, unknown> | undefined;
  // The copy's stored bytes are the source's; show the ETag a HEAD of the copy will show.
  if (result)
    result['ETag'] = clientEtag(md5, typeof result['ETag'] === 'string' ? result['ETag'] : undefined);
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
