import { finished } from 'node:stream/promises';
import { TAG_BYTES } from '@s3seal/core';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { evaluateConditions, hasConditions } from '../s3/conditions.js';
import { isS3Error, S3Error } from '../s3/errors.js';
import { forwardRequestHeaders, headerValue, objectResponseHeaders } from '../s3/headers.js';
import { parsePartNumber } from '../s3/part-number.js';
import { parseRange } from '../s3/range.js';
import type { ByteRange } from '../s3/range.js';
import { queryValue } from '../s3/request-target.js';
import { discardBody, throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import { handleForward } from './forward.js';
import { PlaintextReader, selectPlaintext } from './plaintext-reader.js';
import type { PlaintextSelection } from './plaintext-reader.js';
import { relayResponse } from './relay.js';
import { assertStoredSize, isSealedResponse, openStoredObject, storedTotal } from './stored-object.js';
import type { OpenedObject } from './stored-object.js';

/** Query parameters a GET passes to the backend: the version, and response header overrides. */
function readQuery(ctx: RequestContext): [string, string][] {
  return ctx.target.query
    .filter(([name]) => name === 'versionId' || name.startsWith('response-'))
    .map(([n, v]) => [n, v]);
}

/**
 * GetObject: one upstream GET for the chunks that cover the requested range (guessing the
 * chunk size from the configuration, and the layout of a single PUT; re-asking when the
 * object says otherwise), every chunk authenticated before its bytes are sent. Conditions,
 * suffix ranges and `?partNumber=N` are evaluated with a HEAD first, then the GET is pinned to
 * that version with If-Match. A multipart object is read through its part layout (§5a).
 */
export const handleGetObject: Handler = async (ctx, services) => {
  if (!ctx.isEncrypted) return handleForward(ctx, services);
  const selection = readSelection(ctx);
  const range = selection.kind === 'range' ? selection.range : undefined;
  let pinnedEtag: string | undefined;
  let known: OpenedObject | undefined;
  if (hasConditions(ctx.req.headers) || range?.kind === 'suffix' || selection.kind === 'part') {
    const head = await headUpstream(ctx, services);
    known = await openStoredObject(ctx, services, head);
    if (!known) return handleForward(ctx, services); // legacy object, served as stored
    pinnedEtag = headerValue(head.headers, 'etag');
    const outcome = evaluateConditions(ctx.req.headers, known.etagAliases, known.lastModified);
    if (outcome === 'precondition-failed') throw new S3Error('PreconditionFailed');
    if (outcome === 'not-modified') {
      ctx.res.writeHead(304, { etag: known.etag, 'x-amz-request-id': ctx.requestId });
      ctx.res.end();
      return;
    }
  }
  const firstRange = known
    ? new PlaintextReader(ctx, services, known, selection).sealedRange()
    : coveringRange(range, services.config.chunkSize);
  let up: UpstreamResponse;
  try {
    up = await getUpstream(ctx, services, firstRange, pinnedEtag);
  } catch (err: unknown) {
    // The covering range is computed for an encrypted object. For a legacy object it can start
    // past the stored end although the client's range is valid (bytes=65537-65539 of 65540
    // bytes); the backend's 416 does not tell which kind of object it is, so a HEAD does.
    if (!isS3Error(err, 'InvalidRange') || known || services.config.legacy !== 'passthrough') throw err;
    if (isSealedResponse((await headUpstream(ctx, services)).headers)) throw err;
    return handleForward(ctx, services);
  }
  try {
    const object = known ?? (await openStoredObject(ctx, services, up));
    if (!object) {
      await up.body.dump();
      return handleForward(ctx, services);
    }
    assertStoredSize(object, storedTotal(up.statusCode, up.headers));
    await sendPlaintext(ctx, services, up, object, selection);
  } finally {
    // Whatever happened, release the backend connection (a no-op once the body was read).
    discardBody(up.body);
  }
};

/** What the client asks for: a part (`?partNumber=N`), a Range, or the whole object. */
function readSelection(ctx: RequestContext): PlaintextSelection {
  const partNumber = queryValue(ctx.target, 'partNumber');
  const range = parseRange(headerValue(ctx.req.headers, 'range'));
  if (partNumber === undefined) return range ? { kind: 'range', range } : { kind: 'all' };
  if (range)
    throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  return { kind: 'part', partNumber: parsePartNumber(partNumber) };
}

/**
 * The stored bytes that cover a plaintext range of an object not seen yet, as a Range header
 * (undefined: the whole object): a single PUT's chunks at the configured chunk size. When the
 * object turns out otherwise, the reader asks again.
 */
function coveringRange(range: ByteRange | undefined, chunkSize: number): string | undefined {
  if (!range || range.kind === 'suffix') return undefined;
  const sealedChunk = chunkSize + TAG_BYTES;
  const start = Math.floor(range.start / chunkSize) * sealedChunk;
  if (range.kind === 'from') return `bytes=${start}-`;
  return `bytes=${start}-${(Math.floor(range.end / chunkSize) + 1) * sealedChunk - 1}`;
}

/**
 * Streams the plaintext. Headers go out with the first verified bytes, so a read whose first
 * chunk fails (or whose guessed layout is corrected) still gets an S3 error or the right size.
 */
async function sendPlaintext(
  ctx: RequestContext,
  services: ProxyServices,
  up: UpstreamResponse,
  object: OpenedObject,
  selection: PlaintextSelection,
): Promise<void> {
  const reader = new PlaintextReader(ctx, services, object, selection, passedReadHeaders(ctx));
  const writeHead = (): void => {
    const { start, end, isWhole } = reader.bytes;
    const layout = reader.object.layout;
    const headers = objectResponseHeaders(up.headers);
    headers['etag'] = object.etag;
    headers['content-length'] = String(end - start + 1);
    headers['accept-ranges'] = 'bytes';
    headers['x-amz-request-id'] = ctx.requestId;
    if (!isWhole && end >= start) headers['content-range'] = `bytes ${start}-${end}/${layout.plaintextSize}`;
    if (selection.kind === 'part') headers['x-amz-mp-parts-count'] = String(layout.segments.length);
    ctx.res.writeHead(isWhole ? 200 : 206, headers);
  };
  await reader.pipeTo(ctx.res, up, writeHead);
  // An empty selection (an empty object) wrote no bytes, so no headers yet.
  if (!ctx.res.headersSent) writeHead();
  ctx.res.end();
  await finished(ctx.res);
}

/** Request headers every upstream read of the object carries. */
function passedReadHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = {};
  const passed = forwardRequestHeaders(ctx.req.headers);
  for (const name of ['x-amz-expected-bucket-owner', 'x-amz-request-payer'])
    if (passed[name]) headers[name] = passed[name];
  return headers;
}

async function getUpstream(
  ctx: RequestContext,
  services: ProxyServices,
  range: string | undefined,
  ifMatch: string | undefined,
): Promise<UpstreamResponse> {
  const headers = passedReadHeaders(ctx);
  if (range) headers['range'] = range;
  if (ifMatch) headers['if-match'] = ifMatch;
  const up = await services.upstream.send({
    method: 'GET',
    bucket: ctx.target.bucket,
    key: ctx.target.key,
    query: readQuery(ctx),
    headers,
    signal: ctx.signal,
  });
  if (up.statusCode === 416) {
    await up.body.dump();
    throw new S3Error('InvalidRange');
  }
  if (up.statusCode >= 300) await throwUpstreamError(up);
  return up;
}

export async function headUpstream(ctx: RequestContext, services: ProxyServices): Promise<UpstreamResponse> {
  const up = await services.upstream.send({
    method: 'HEAD',
    bucket: ctx.target.bucket,
    key: ctx.target.key,
    query: readQuery(ctx).filter(([n]) => n === 'versionId'),
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) await throwUpstreamError(up);
  await up.body.dump();
  return up;
}

/** HeadObject: the plaintext's size, ETag and metadata; conditions and Range as a GET would. */
export const handleHeadObject: Handler = async (ctx, services) => {
  if (!ctx.isEncrypted) return handleForward(ctx, services);
  const up = await headUpstream(ctx, services);
  const object = await openStoredObject(ctx, services, up);
  // A legacy object, served as stored: asked again with the client's conditions and Range,
  // which the HEAD above left out, so the backend answers 304, 412 or 206 as it should.
  if (!object) return handleForward(ctx, services);
  assertStoredSize(object, storedTotal(up.statusCode, up.headers));
  const outcome = evaluateConditions(ctx.req.headers, object.etagAliases, object.lastModified);
  if (outcome === 'precondition-failed') throw new S3Error('PreconditionFailed');
  const headers = objectResponseHeaders(up.headers);
  headers['etag'] = object.etag;
  headers['accept-ranges'] = 'bytes';
  headers['x-amz-request-id'] = ctx.requestId;
  if (outcome === 'not-modified') {
    ctx.res.writeHead(304, headers);
    ctx.res.end();
    return;
  }
  const selection = readSelection(ctx);
  const { start, end, isWhole } = selectPlaintext(object.layout, selection);
  const size = object.layout.plaintextSize;
  headers['content-length'] = String(end - start + 1);
  if (!isWhole && end >= start) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  if (selection.kind === 'part') headers['x-amz-mp-parts-count'] = String(object.layout.segments.length);
  ctx.res.writeHead(isWhole ? 200 : 206, headers);
  ctx.res.end();
};

export { relayResponse };
