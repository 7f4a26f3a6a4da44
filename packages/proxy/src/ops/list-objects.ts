import { isCoreError, plaintextSize } from '@s3seal/core';
import type { Handler } from '../context.js';
import { forwardRequestHeaders, forwardResponseHeaders } from '../s3/headers.js';
import { listingEtag } from '../s3/etag.js';
import { buildXml, parseXml } from '../s3/xml.js';
import { MAX_XML_RESPONSE_BYTES, readCappedBody, throwUpstreamError } from '../upstream/read-response.js';
import { handleForward } from './forward.js';
import { listedMultipartSize, partsCountOfEtag } from './multipart-layout.js';

/** The listing element per action, and the entries in it whose Size is a stored size. */
const ENTRIES: Record<string, { root: string; lists: readonly string[] }> = {
  ListObjects: { root: 'ListBucketResult', lists: ['Contents'] },
  ListObjectsV2: { root: 'ListBucketResult', lists: ['Contents'] },
  ListObjectVersions: { root: 'ListVersionsResult', lists: ['Version'] },
};

/**
 * ListObjects (v1, v2) and ListObjectVersions: forwarded as they are, then every entry's Size
 * is mapped to the plaintext size with the format's size function (no request per key).
 * Tokens, markers, prefixes and delimiters pass untouched. An entry whose size is not a
 * possible s3seal size (a legacy object) keeps its stored size.
 */
export const handleListObjects: Handler = async (ctx, services) => {
  if (!ctx.isEncrypted) return handleForward(ctx, services);
  const up = await services.upstream.send({
    method: 'GET',
    bucket: ctx.target.bucket,
    query: ctx.target.query,
    headers: forwardRequestHeaders(ctx.req.headers),
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) await throwUpstreamError(up);
  const doc = parseXml((await readCappedBody(up.body, MAX_XML_RESPONSE_BYTES)).toString('utf8'));
  const spec = ENTRIES[ctx.action]!;
  const root = doc[spec.root] as Record<string, unknown> | undefined;
  if (root) {
    for (const list of spec.lists) {
      const entries = root[list];
      for (const entry of Array.isArray(entries) ? entries : entries === undefined ? [] : [entries]) {
        rewriteSize(entry as Record<string, unknown>, services.config.chunkSize);
      }
    }
  }
  const body = Buffer.from(buildXml(doc), 'utf8');
  const headers = forwardResponseHeaders(up.headers);
  headers['content-length'] = String(body.length);
  headers['x-amz-request-id'] = ctx.requestId;
  ctx.res.writeHead(200, headers);
  ctx.res.end(body);
};

function rewriteSize(entry: Record<string, unknown>, chunkSize: number): void {
  const size = entry['Size'];
  if (typeof size !== 'string' || !/^\d+$/.test(size)) return;
  const partsCount = partsCountOfEtag(typeof entry['ETag'] === 'string' ? entry['ETag'] : '');
  // Multipart objects (ETag "…-N") carry a 32-byte header per part (docs/FORMAT.md §3, §5a).
  const plain =
    partsCount === undefined
      ? singlePlaintextSize(Number(size), chunkSize)
      : listedMultipartSize(Number(size), partsCount, chunkSize);
  // Not an s3seal size: an object written around the proxy. Its stored size is its size.
  if (plain === undefined) return;
  entry['Size'] = String(plain);
  if (typeof entry['ETag'] === 'string') entry['ETag'] = listingEtag(entry['ETag']);
}

function singlePlaintextSize(stored: number, chunkSize: number): number | undefined {
  try {
    return plaintextSize(stored, chunkSize);
  } catch (err: unknown) {
    if (isCoreError(err)) return undefined;
    throw err;
  }
}
