import { checksumHeaderName, createPayloadVerifier, declaredPlaintextLength } from '../auth/index.js';
import type { Handler } from '../context.js';
import { parsePartNumber } from '../s3/part-number.js';
import { queryValue } from '../s3/request-target.js';
import { openUpload, recordStoredPart, requireUploads, uploadSealedPart } from './multipart-upload.js';

/**
 * UploadPart (docs/FORMAT.md §5a): the body is verified and sealed as it streams, under a
 * fresh part header, to the backend part of the same number. Only after the backend took it
 * and its record (sizes, backend ETag, plaintext MD5) is in Valkey does the client get its
 * ETag, the plaintext MD5: a part whose record did not land never becomes part of an object.
 */
export const handleUploadPart: Handler = async (ctx, services) => {
  const store = requireUploads(ctx, services);
  const partNumber = parsePartNumber(queryValue(ctx.target, 'partNumber'));
  const plaintextSize = declaredPlaintextLength(ctx.raw, ctx.verified);
  const upload = await openUpload(ctx, services, store);
  const verifier = createPayloadVerifier(ctx.raw, ctx.verified, {
    computeMd5: true,
    meter: ctx.meter,
  });
  const { up, sealedSize } = await uploadSealedPart(ctx, services, upload, partNumber, {
    plaintext: ctx.req,
    stage: verifier,
    plaintextSize,
  });
  const verified = verifier.result;
  const md5Hex = await recordStoredPart(
    store,
    upload.uploadId,
    partNumber,
    { up, plaintextSize, sealedSize },
    verified?.md5Hex,
    verified?.checksum,
  );
  const headers: Record<string, string> = {
    etag: `"${md5Hex}"`,
    'content-length': '0',
    'x-amz-request-id': ctx.requestId,
  };
  // S3 echoes the part's flexible checksum; the client lists it again in CompleteMultipartUpload.
  if (verified?.checksum) headers[checksumHeaderName(verified.checksum.algorithm)] = verified.checksum.base64;
  ctx.res.writeHead(200, headers);
  ctx.res.end();
};
