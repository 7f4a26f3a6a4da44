import type { Readable } from 'node:stream';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { parseCopySource, parseCopySourceRange } from '../s3/copy-source.js';
import type { CopySource } from '../s3/copy-source.js';
import { headerValue } from '../s3/headers.js';
import { parsePartNumber } from '../s3/part-number.js';
import { queryValue } from '../s3/request-target.js';
import { Md5Tap } from '../streams/md5-tap.js';
import { throwUpstreamError } from '../upstream/read-response.js';
import { assertCopyAllowed } from './copy-policy.js';
import { openCopySource } from './copy-source-object.js';
import type { CopySourceObject } from './copy-source-object.js';
import { openUpload, recordStoredPart, requireUploads, uploadSealedPart } from './multipart-upload.js';
import { PlaintextReader } from './plaintext-reader.js';
import { sendXml } from './xml-response.js';

/**
 * UploadPartCopy: the source's plaintext (the range x-amz-copy-source-range names, decrypted
 * as GetObject decrypts it, or read as is from a pass-through bucket) is sealed as a part of
 * this upload, through the proxy: the backend's own part copy would copy another object's
 * ciphertext, under another key. The ETag is the plaintext MD5, as for UploadPart.
 */
export const handleUploadPartCopy: Handler = async (ctx, services) => {
  const store = requireUploads(ctx, services);
  const partNumber = parsePartNumber(queryValue(ctx.target, 'partNumber'));
  const source = parseCopySource(headerValue(ctx.req.headers, 'x-amz-copy-source')!);
  assertCopyAllowed(source, ctx.isEncrypted, services);
  const upload = await openUpload(ctx, services, store);
  const object = await openCopySource(ctx, services, source);
  const rangeHeader = headerValue(ctx.req.headers, 'x-amz-copy-source-range');
  const range =
    rangeHeader === undefined
      ? { start: 0, end: object.size - 1 }
      : parseCopySourceRange(rangeHeader, object.size);
  const plaintextSize = range.end - range.start + 1;
  const plaintext = await openSourcePlaintext(
    ctx,
    services,
    source,
    object,
    range,
    rangeHeader !== undefined,
  );
  const tap = new Md5Tap();
  try {
    const { up, sealedSize } = await uploadSealedPart(ctx, services, upload, partNumber, {
      plaintext,
      stage: tap,
      plaintextSize,
    });
    await recordStoredPart(store, upload.uploadId, partNumber, { up, plaintextSize, sealedSize }, tap.md5Hex);
    const headers: Record<string, string> = {};
    const versionId = headerValue(object.head.headers, 'x-amz-version-id');
    if (versionId !== undefined) headers['x-amz-copy-source-version-id'] = versionId;
    sendXml(
      ctx,
      { CopyPartResult: { ETag: `"${tap.md5Hex}"`, LastModified: new Date().toISOString() } },
      headers,
    );
  } finally {
    // A source the upload did not read to its end (the backend refused) still holds a connection.
    plaintext.destroy();
  }
};

async function openSourcePlaintext(
  ctx: RequestContext,
  services: ProxyServices,
  source: CopySource,
  object: CopySourceObject,
  range: { start: number; end: number },
  isRanged: boolean,
): Promise<Readable> {
  if (object.sealed) {
    const reader = new PlaintextReader(
      ctx,
      services,
      object.sealed,
      isRanged ? { kind: 'range', range: { kind: 'bounded', ...range } } : { kind: 'all' },
    );
    return reader.stream();
  }
  const headers: Record<string, string> = { 'if-match': object.backendEtag };
  if (isRanged) headers['range'] = `bytes=${range.start}-${range.end}`;
  const get = await services.upstream.send({
    method: 'GET',
    bucket: source.bucket,
    key: source.key,
    query: source.versionId === undefined ? [] : [['versionId', source.versionId]],
    headers,
    signal: ctx.signal,
  });
  if (get.statusCode >= 300) await throwUpstreamError(get);
  return get.body;
}
