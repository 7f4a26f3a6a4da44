import { decodeMetadata } from '@s3seal/core';
import type { Handler } from '../context.js';
import { parseXml } from '../s3/xml.js';
import type { PartRecord } from '../state/upload-state-store.js';
import { MAX_XML_RESPONSE_BYTES, readCappedBody, throwUpstreamError } from '../upstream/read-response.js';
import { normalizeEtag } from './completion.js';
import { handleForward } from './forward.js';
import { partPlaintextSize } from './multipart-layout.js';
import { passedHeaders, uploadIdOf } from './multipart-upload.js';
import { sendXml } from './xml-response.js';

/**
 * ListParts: forwarded, then each part is described as the client sent it: its plaintext
 * size, and the ETag (plaintext MD5) the client got for it. Markers and paging pass as they
 * are. Without the upload's state (completed, aborted, expired) ETags stay the backend's.
 */
export const handleListParts: Handler = async (ctx, services) => {
  const store = services.uploads;
  if (!store) return handleForward(ctx, services);
  const uploadId = uploadIdOf(ctx);
  const up = await services.upstream.send({
    method: 'GET',
    bucket: ctx.target.bucket,
    key: ctx.target.key,
    query: ctx.target.query,
    headers: passedHeaders(ctx),
    signal: ctx.signal,
  });
  if (up.statusCode >= 300) await throwUpstreamError(up);
  const doc = parseXml((await readCappedBody(up.body, MAX_XML_RESPONSE_BYTES)).toString('utf8'));
  const state = await store.get(uploadId);
  const isOurs = state?.bucket === ctx.target.bucket && state?.key === ctx.target.key;
  const records = isOurs ? await store.parts(uploadId) : new Map<number, PartRecord>();
  const chunkSize = isOurs ? decodeMetadata(state!.metadata).chunkSize : services.config.chunkSize;
  const result = doc['ListPartsResult'] as Record<string, unknown> | undefined;
  const listed = result?.['Part'];
  for (const part of Array.isArray(listed) ? listed : listed === undefined ? [] : [listed]) {
    describePart(part as Record<string, unknown>, records, chunkSize);
  }
  sendXml(ctx, doc);
};

function describePart(
  part: Record<string, unknown>,
  records: Map<number, PartRecord>,
  chunkSize: number,
): void {
  // The backend's checksums describe sealed bytes, never the client's.
  for (const name of Object.keys(part)) if (name.startsWith('Checksum')) delete part[name];
  const record = records.get(Number(part['PartNumber']));
  const etag = typeof part['ETag'] === 'string' ? part['ETag'] : '';
  if (record && normalizeEtag(record.upstreamEtag) === normalizeEtag(etag)) {
    part['ETag'] = `"${record.md5Hex}"`;
    part['Size'] = String(record.plaintextSize);
    if (record.checksum) part[`Checksum${record.checksum.algorithm}`] = record.checksum.base64;
    return;
  }
  const size = part['Size'];
  if (typeof size === 'string' && /^\d+$/.test(size)) {
    const plain = partPlaintextSize(Number(size), chunkSize);
    if (plain !== undefined) part['Size'] = String(plain);
  }
}
