import { Readable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertClientMetadataFits, sealedSize, sealEnvelopeWith, singleSegmentKey } from '@s3seal/core';
import type { SealedEnvelope } from '@s3seal/core';
import { createPayloadVerifier, declaredPlaintextLength } from '../auth/index.js';
import type { Handler, ProxyServices, RequestContext } from '../context.js';
import { TimedEncryptStream } from '../observability/timed-encrypt-stream.js';
import { S3Error } from '../s3/errors.js';
import { clientEtag } from '../s3/etag.js';
import { clientMetadata, headerValue, objectWriteHeaders } from '../s3/headers.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import { forwardUnencrypted } from './forward.js';
import { putSealedBody } from './sealed-body.js';

/**
 * PutObject: the body is verified, sealed and streamed to the backend in one pass, with the
 * sealed length known up front. A body no larger than one chunk is read first, so its MD5 is
 * in the metadata and its ETag is the plaintext MD5 (see docs/FORMAT.md §5).
 */
export const handlePutObject: Handler = async (ctx, services) => {
  if (!ctx.isEncrypted) return forwardUnencrypted(ctx, services);
  const { config } = services;
  const plaintextSize = declaredPlaintextLength(ctx.raw, ctx.verified);
  if (plaintextSize > config.maxPutBytes) {
    throw new S3Error(
      'EntityTooLarge',
      `objects through this proxy are limited to ${config.maxPutBytes} bytes in one PUT`,
    );
  }
  const clientMd5 = parseContentMd5(headerValue(ctx.req.headers, 'content-md5'));
  const isSmall = plaintextSize <= config.chunkSize;
  // MD5 costs about half as much CPU as the encryption: computed only where it is stored.
  const verifier = createPayloadVerifier(ctx.raw, ctx.verified, {
    computeMd5: isSmall,
    meter: ctx.meter,
  });

  // Small bodies: read (at most one chunk, verified) so the MD5 goes into the metadata.
  let body: Buffer | undefined;
  if (isSmall) {
    const parts: Buffer[] = [];
    await pipeline(ctx.req, verifier, async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) parts.push(chunk);
    });
    body = Buffer.concat(parts);
  }
  const md5Hex = verifier.result?.md5Hex;
  const md5 = body && md5Hex !== undefined ? Buffer.from(md5Hex, 'hex') : clientMd5;
  const headers = objectWriteHeaders(ctx.req.headers);
  const { envelope, up } = await uploadSealed(ctx, services, {
    plaintext: body ? Readable.from([body]) : ctx.req,
    verifier: body ? undefined : verifier,
    plaintextSize,
    plaintextMd5: md5,
    headers,
    userMetadata: clientMetadata(ctx.req.headers),
  });
  respond(ctx, envelope, up);
};

export interface SealedUpload {
  /** Plaintext source: the request body, an in-memory body, or a decrypting stream (copies). */
  readonly plaintext: Readable;
  /** A stage between source and encryption: the client body's verifier, or a hashing tap. */
  readonly verifier?: Transform | undefined;
  readonly plaintextSize: number;
  readonly plaintextMd5: Buffer | undefined;
  /** Headers describing the object (content type, tagging, …), without metadata. */
  readonly headers: Record<string, string>;
  readonly userMetadata: Record<string, string>;
}

/**
 * Seals a plaintext stream for the request's object and PUTs it upstream with its length
 * known up front. Used by PutObject and by copies that must re-encrypt.
 */
export async function uploadSealed(
  ctx: RequestContext,
  services: ProxyServices,
  upload: SealedUpload,
): Promise<{ envelope: SealedEnvelope; up: UpstreamResponse }> {
  const { config } = services;
  const envelope = await sealEnvelopeWith(services.keys(), ctx.target.bucket!, {
    objectKey: ctx.target.key!,
    layout: 'single',
    plaintextSize: upload.plaintextSize,
    plaintextMd5: upload.plaintextMd5,
    algorithm: config.algorithm,
    chunkSize: config.chunkSize,
    bindObjectKey: config.bindObjectKey,
  });
  assertClientMetadataFits(upload.userMetadata, envelope.metadata);
  const headers = { ...upload.headers };
  for (const [name, value] of Object.entries(upload.userMetadata)) headers[`x-amz-meta-${name}`] = value;
  for (const [name, value] of Object.entries(envelope.metadata)) headers[`x-amz-meta-${name}`] = value;
  headers['content-length'] = String(sealedSize(upload.plaintextSize, config.chunkSize));

  const encrypt = new TimedEncryptStream(ctx.meter, {
    algorithm: envelope.info.algorithm,
    chunkSize: envelope.info.chunkSize,
    key: singleSegmentKey(envelope.info, envelope.dek),
    plaintextSize: upload.plaintextSize,
  });
  const up = await putSealedBody(
    ctx,
    services,
    { key: ctx.target.key!, headers },
    { plaintext: upload.plaintext, stage: upload.verifier, encrypt },
  );
  return { envelope, up };
}

function respond(ctx: RequestContext, envelope: SealedEnvelope, up: UpstreamResponse): void {
  const headers: Record<string, string> = {
    etag: clientEtag(envelope.info.plaintextMd5, headerValue(up.headers, 'etag')),
    'x-amz-request-id': ctx.requestId,
    'content-length': '0',
  };
  const versionId = headerValue(up.headers, 'x-amz-version-id');
  if (versionId !== undefined) headers['x-amz-version-id'] = versionId;
  ctx.res.writeHead(200, headers);
  ctx.res.end();
}

function parseContentMd5(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== value.trim()) {
    throw new S3Error('InvalidDigest', 'Content-MD5 is not the base64 encoding of 16 bytes');
  }
  return bytes;
}
