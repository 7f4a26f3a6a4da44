import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createPayloadVerifier, declaredPlaintextLength } from '../auth/index.js';
import type { RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';

/** Request bodies the proxy reads whole (bucket configuration, DeleteObjects, tagging) are capped. */
export const MAX_SMALL_BODY_BYTES = 8 * 1024 * 1024;

/** Whether the request carries a body at all (any Content-Length > 0, or chunked framing). */
export function hasRequestBody(ctx: RequestContext): boolean {
  const length = ctx.req.headers['content-length'];
  return (length !== undefined && length !== '0') || ctx.req.headers['transfer-encoding'] !== undefined;
}

/**
 * The verified body, whole, for the small bodies of calls that carry no object data. The
 * verifier checks signatures, payload hash and checksums before the last byte is released.
 */
export async function readVerifiedBody(
  ctx: RequestContext,
  maxBytes = MAX_SMALL_BODY_BYTES,
): Promise<Buffer> {
  const declared = declaredPlaintextLength(ctx.raw, ctx.verified);
  if (declared > maxBytes)
    throw new S3Error('MaxMessageLengthExceeded', `this request's body is limited to ${maxBytes} bytes`);
  const parts: Buffer[] = [];
  let total = 0;
  await pipeline(
    ctx.req,
    createPayloadVerifier(ctx.raw, ctx.verified, { meter: ctx.meter }),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        total += chunk.length;
        if (total > maxBytes)
          throw new S3Error(
            'MaxMessageLengthExceeded',
            `this request's body is limited to ${maxBytes} bytes`,
          );
        parts.push(chunk);
      }
    },
  );
  return Buffer.concat(parts, total);
}

/** The verified body as a stream, for pass-through buckets (never buffered). */
export function verifiedBodyStream(ctx: RequestContext): {
  stream: Readable;
  length: number;
  done: Promise<void>;
} {
  const length = declaredPlaintextLength(ctx.raw, ctx.verified);
  const verifier = createPayloadVerifier(ctx.raw, ctx.verified, { meter: ctx.meter });
  const done = pipeline(ctx.req, verifier).catch((err: unknown) => {
    verifier.destroy(err as Error);
    throw err;
  });
  return { stream: verifier, length, done };
}

export function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}
