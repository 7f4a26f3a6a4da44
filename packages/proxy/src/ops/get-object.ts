import { pipeline } from 'node:stream/promises';
import { DecryptStream, planRead, singleSegmentKey, TAG_BYTES } from '@s3seal/core';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { evaluateConditions, hasConditions } from '../s3/conditions.js';
import { S3Error } from '../s3/errors.js';
import {
  forwardRequestHeaders,
  forwardResponseHeaders,
  headerValue,
  objectResponseHeaders,
} from '../s3/headers.js';
import { parseRange, resolveRange } from '../s3/range.js';
import type { ByteRange } from '../s3/range.js';
import { discardBody, throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import { handleForward } from './forward.js';
import { relayResponse } from './relay.js';
import { assertStoredSize, openStoredObject, storedTotal } from './stored-object.js';
import type { OpenedObject } from './stored-object.js';

/** Query parameters a GET passes to the backend: the version, and response header overrides. */
function readQuery(ctx: RequestContext): [string, string][] {
  return ctx.target.query
    .filter(([name]) => name === 'versionId' || name.startsWith('response-'))
    .map(([n, v]) => [n, v]);
}

/**
 * GetObject: one upstream GET for the chunks that cover the requested range (guessing the
 * chunk size from the configuration; re-asking in the rare case the object used another),
 * every chunk authenticated before its bytes are sent. Conditions are evaluated against the
 * plaintext ETag with a HEAD first, then the GET is pinned to that version with If-Match.
 */
export const handleGetObject: Handler = async (ctx, services) => {
  if (!ctx.isEncrypted) return handleForward(ctx, services);
  const range = parseRange(headerValue(ctx.req.headers, 'range'));
  let pinnedEtag: string | undefined;
  let known: OpenedObject | undefined;
  if (hasConditions(ctx.req.headers) || range?.kind === 'suffix') {
    const head = await headUpstream(ctx, services);
    known = openStoredObject(ctx, services, head.headers);
    if (!known) return handleForward(ctx, services); // legacy object, served as stored
    pinnedEtag = headerValue(head.headers, 'etag');
    const outcome = evaluateConditions(ctx.req.headers, known.etag, known.lastModified);
    if (outcome === 'precondition-failed') throw new S3Error('PreconditionFailed');
    if (outcome === 'not-modified') {
      ctx.res.writeHead(304, { etag: known.etag, 'x-amz-request-id': ctx.requestId });
      ctx.res.end();
      return;
    }
  }
  const chunkSize = known?.info.chunkSize ?? services.config.chunkSize;
  let up = await getUpstream(ctx, services, coveringRange(range, chunkSize, known), pinnedEtag);
  try {
    let object = known ?? openStoredObject(ctx, services, up.headers);
    if (!object) {
      await up.body.dump();
      return handleForward(ctx, services);
    }
    if (range && object.info.chunkSize !== chunkSize) {
      // Written with another chunk size than configured now: ask again for the right chunks.
      await up.body.dump();
      up = await getUpstream(
        ctx,
        services,
        coveringRange(range, object.info.chunkSize, object),
        headerValue(up.headers, 'etag'),
      );
      object = openStoredObject(ctx, services, up.headers)!;
    }
    assertStoredSize(object, storedTotal(up.statusCode, up.headers));
    await sendPlaintext(ctx, services, up, object, range);
  } finally {
    // Whatever happened, release the backend connection (a no-op once the body was read).
    discardBody(up.body);
  }
};

/** The stored byte range that covers a plaintext range, as a Range header (undefined: whole object). */
function coveringRange(
  range: ByteRange | undefined,
  chunkSize: number,
  known: OpenedObject | undefined,
): string | undefined {
  if (!range) return undefined;
  const sealedChunk = chunkSize + TAG_BYTES;
  if (range.kind === 'suffix') {
    const plan = planRead(known!.layout, ...bounds(resolveRange(range, known!.layout.plaintextSize)));
    return `bytes=${plan.sealedStart}-${plan.sealedEnd - 1}`;
  }
  const start = Math.floor(range.start / chunkSize) * sealedChunk;
  if (range.kind === 'from') return `bytes=${start}-`;
  return `bytes=${start}-${(Math.floor(range.end / chunkSize) + 1) * sealedChunk - 1}`;
}

function bounds(r: { start: number; end: number }): [number, number] {
  return [r.start, r.end];
}

async function sendPlaintext(
  ctx: RequestContext,
  services: ProxyServices,
  up: UpstreamResponse,
  object: OpenedObject,
  range: ByteRange | undefined,
): Promise<void> {
  const size = object.layout.plaintextSize;
  const wanted = range ? resolveRange(range, size) : undefined;
  const plan = wanted ? planRead(object.layout, wanted.start, wanted.end) : planRead(object.layout);
  const receivedFrom =
    up.statusCode === 206
      ? Number(/bytes (\d+)-/.exec(headerValue(up.headers, 'content-range') ?? '')?.[1])
      : 0;
  if (receivedFrom !== plan.sealedStart) {
    await up.body.dump();
    throw new S3Error(
      'InternalError',
      `the backend returned stored bytes from ${receivedFrom}, expected ${plan.sealedStart}`,
    );
  }
  const headers = objectResponseHeaders(up.headers);
  headers['etag'] = object.etag;
  headers['content-length'] = String(plan.length);
  headers['accept-ranges'] = 'bytes';
  headers['x-amz-request-id'] = ctx.requestId;
  if (wanted) headers['content-range'] = `bytes ${wanted.start}-${wanted.end}/${size}`;
  const key = singleSegmentKey(object.info, object.dek);
  const decrypt = new DecryptStream({
    algorithm: object.info.algorithm,
    layout: object.layout,
    plan,
    segmentKey: () => key,
  });
  // The backend may send more than the plan needs (an open-ended range): stop reading at its end.
  const limited = limitBytes(up.body, plan.sealedEnd - plan.sealedStart);
  ctx.res.writeHead(wanted ? 206 : 200, headers);
  services.log.debug(
    { requestId: ctx.requestId, plan: { start: plan.sealedStart, end: plan.sealedEnd } },
    'get plan',
  );
  await pipeline(limited, decrypt, ctx.res);
}

async function* limitBytes(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let left = limit;
  for await (const chunk of source) {
    if (left <= 0) break;
    if (chunk.length <= left) {
      left -= chunk.length;
      yield chunk;
    } else {
      yield chunk.subarray(0, left);
      left = 0;
    }
    if (left === 0) break;
  }
}

async function getUpstream(
  ctx: RequestContext,
  services: ProxyServices,
  range: string | undefined,
  ifMatch: string | undefined,
): Promise<UpstreamResponse> {
  const headers: Record<string, string> = {};
  const passed = forwardRequestHeaders(ctx.req.headers);
  for (const name of ['x-amz-expected-bucket-owner', 'x-amz-request-payer'])
    if (passed[name]) headers[name] = passed[name];
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
  const object = openStoredObject(ctx, services, up.headers);
  if (!object) {
    ctx.res.writeHead(up.statusCode, {
      ...forwardResponseHeaders(up.headers),
      'x-amz-request-id': ctx.requestId,
    });
    ctx.res.end();
    return;
  }
  assertStoredSize(object, storedTotal(up.statusCode, up.headers));
  const outcome = evaluateConditions(ctx.req.headers, object.etag, object.lastModified);
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
  const range = parseRange(headerValue(ctx.req.headers, 'range'));
  const size = object.layout.plaintextSize;
  if (range) {
    const wanted = resolveRange(range, size);
    headers['content-range'] = `bytes ${wanted.start}-${wanted.end}/${size}`;
    headers['content-length'] = String(wanted.end - wanted.start + 1);
    ctx.res.writeHead(206, headers);
  } else {
    headers['content-length'] = String(size);
    ctx.res.writeHead(200, headers);
  }
  ctx.res.end();
};

export { relayResponse };
