import type { Readable, Transform } from 'node:stream';
import { encodePartHeader, newPartHeader, PART_HEADER_BYTES, partSegmentKey, sealedSize } from '@s3seal/core';
import type { SealedObjectInfo } from '@s3seal/core';
import type { ProxyServices, RequestContext } from '../context.js';
import { TimedEncryptStream } from '../observability/timed-encrypt-stream.js';
import { isS3Error, S3Error } from '../s3/errors.js';
import { headerValue } from '../s3/headers.js';
import { queryValue } from '../s3/request-target.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import type { PartRecord, UploadState, UploadStateStore } from '../state/upload-state-store.js';
import { refusal } from './refuse.js';
import { putSealedBody } from './sealed-body.js';

/** S3's largest part. */
export const MAX_PART_BYTES = 5 * 1024 ** 3;

/** Headers of the client's request that every upstream multipart call carries. */
const PASSED_HEADERS = ['x-amz-expected-bucket-owner', 'x-amz-request-payer'];

/** The upload state store; the refusal (NotImplemented, naming the options) when multipart is off. */
export function requireUploads(ctx: RequestContext, services: ProxyServices): UploadStateStore {
  if (!services.uploads) throw refusal(ctx.action);
  return services.uploads;
}

export function uploadIdOf(ctx: RequestContext): string {
  const uploadId = queryValue(ctx.target, 'uploadId');
  if (uploadId === undefined || uploadId === '') throw new S3Error('InvalidArgument', 'uploadId is missing');
  return uploadId;
}

export function passedHeaders(ctx: RequestContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PASSED_HEADERS) {
    const value = headerValue(ctx.req.headers, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** An upload in flight with its data key unwrapped (from the wrapped one in its state). */
export interface OpenUpload {
  readonly uploadId: string;
  readonly state: UploadState;
  readonly info: SealedObjectInfo;
  readonly dek: Buffer;
}

/** The request's upload: NoSuchUpload when the proxy has no state for it, for this bucket and key. */
export async function loadUpload(
  ctx: RequestContext,
  store: UploadStateStore,
  uploadId: string,
): Promise<UploadState> {
  const state = await store.get(uploadId);
  if (!state || state.bucket !== ctx.target.bucket || state.key !== ctx.target.key) {
    throw new S3Error('NoSuchUpload', undefined, { fields: { UploadId: uploadId } });
  }
  return state;
}

export async function openUpload(
  ctx: RequestContext,
  services: ProxyServices,
  store: UploadStateStore,
): Promise<OpenUpload> {
  const uploadId = uploadIdOf(ctx);
  const state = await loadUpload(ctx, store, uploadId);
  // Cached: each part would otherwise cost a key-manager call.
  const { info, dek } = await services.openedKeys.open(services.keys(), state.metadata, state);
  return { uploadId, state, info, dek };
}

/** Plaintext of one part: its source, an optional check or tap, and its exact length. */
export interface PartPlaintext {
  readonly plaintext: Readable;
  readonly stage: Transform | undefined;
  readonly plaintextSize: number;
}

/**
 * Seals one part and uploads it as the backend part of the same number: a fresh part header
 * (new salt, so a retried part never reuses a key and nonce), then the sealed chunks
 * (docs/FORMAT.md §2, §5a). Fail closed as PutObject is.
 */
export async function uploadSealedPart(
  ctx: RequestContext,
  services: ProxyServices,
  upload: OpenUpload,
  partNumber: number,
  part: PartPlaintext,
): Promise<{ up: UpstreamResponse; sealedSize: number }> {
  if (part.plaintextSize > MAX_PART_BYTES) {
    throw new S3Error('EntityTooLarge', `a part is at most ${MAX_PART_BYTES} bytes`);
  }
  const { info, dek } = upload;
  const header = newPartHeader(partNumber);
  const encrypt = new TimedEncryptStream(ctx.meter, {
    algorithm: info.algorithm,
    chunkSize: info.chunkSize,
    key: partSegmentKey(info, dek, header),
    plaintextSize: part.plaintextSize,
    header: encodePartHeader(info.algorithm, header),
  });
  const sealed = sealedSize(part.plaintextSize, info.chunkSize, PART_HEADER_BYTES);
  const up = await putSealedBody(
    ctx,
    services,
    {
      key: upload.state.key,
      query: [
        ['partNumber', String(partNumber)],
        ['uploadId', upload.uploadId],
      ],
      headers: { ...passedHeaders(ctx), 'content-length': String(sealed) },
    },
    { plaintext: part.plaintext, stage: part.stage, encrypt },
  );
  return { up, sealedSize: sealed };
}

/** Drops the state of a finished upload; if Valkey is away it expires with its TTL instead. */
export async function forgetUpload(
  ctx: RequestContext,
  services: ProxyServices,
  uploadId: string,
): Promise<void> {
  try {
    await services.uploads!.delete(uploadId);
  } catch (err: unknown) {
    if (!isS3Error(err, 'ServiceUnavailable')) throw err;
    services.log.warn(
      { requestId: ctx.requestId, uploadId, err: err.message },
      'upload state left to expire',
    );
  }
}

/**
 * Records a part the backend has just stored, for CompleteMultipartUpload to find. The client
 * gets the part's ETag only after this: a part without a record never joins an object.
 */
export async function recordStoredPart(
  store: UploadStateStore,
  uploadId: string,
  partNumber: number,
  stored: { up: UpstreamResponse; plaintextSize: number; sealedSize: number },
  md5Hex: string | undefined,
  checksum?: PartRecord['checksum'],
): Promise<string> {
  const upstreamEtag = headerValue(stored.up.headers, 'etag');
  if (md5Hex === undefined || upstreamEtag === undefined) {
    throw new S3Error('InternalError', 'the part was stored without an ETag or an MD5');
  }
  await store.recordPart(uploadId, partNumber, {
    plaintextSize: stored.plaintextSize,
    sealedSize: stored.sealedSize,
    upstreamEtag,
    md5Hex,
    ...(checksum === undefined ? {} : { checksum }),
  });
  return md5Hex;
}
