import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { createSingleEncryptStream, sealedSize } from '@s3seal/core';
import type { AlgorithmName, Keyring } from '@s3seal/core';
import { CliError } from '../errors.js';
import { describingHeaders, readTagging } from '../s3/backend-client.js';
import type { LegacyObject, ObjectVersionBase } from '../s3/stored-object.js';

/** S3 takes at most 5 GiB in one PutObject. */
export const MAX_PUT_OBJECT_BYTES = 5 * 1024 ** 3;

export interface EncryptOptions {
  readonly isDryRun: boolean;
  readonly chunkSizeBytes: number;
  readonly algorithm: AlgorithmName;
  readonly bindObjectKey: boolean;
}

/**
 * Encrypts a legacy (plaintext) object in place: GET, seal while streaming, PUT back with s3seal
 * metadata as one single-PUT object, as the proxy would have written it. The GET is pinned to
 * the ETag read (If-Match) and so is the PUT (If-Match on PutObject, which S3 and MinIO both
 * check), so an object overwritten meanwhile fails with PreconditionFailed and the new version
 * is left as written. Kept: content headers, storage class and SSE settings, user metadata,
 * tags (read just before). Like the proxy, a body of at most one chunk is read whole first so
 * its MD5 is recorded (clients then see an MD5 ETag); larger ones have none recorded.
 * Objects whose sealed form exceeds one PUT (5 GiB) are refused: a multipart encryption is
 * not implemented here.
 */
export async function encryptLegacyObject(
  client: S3Client,
  keyring: Keyring,
  object: LegacyObject,
  options: EncryptOptions,
): Promise<'encrypted' | 'would-encrypt'> {
  const plaintextSize = object.storedBytes;
  const storedSize = sealedSize(plaintextSize, options.chunkSizeBytes);
  if (storedSize > MAX_PUT_OBJECT_BYTES) {
    throw new CliError(
      'S3SEAL_CLI_NOT_SUPPORTED',
      `sealed, it would be ${storedSize} bytes, over the 5 GiB of one PutObject; encrypt-legacy does not write multipart objects: copy it through the proxy instead`,
    );
  }
  const seal = {
    objectKey: object.key,
    plaintextSize,
    algorithm: options.algorithm,
    chunkSize: options.chunkSizeBytes,
    bindObjectKey: options.bindObjectKey,
  };
  if (options.isDryRun) {
    // Everything but the writes, so a dry run reports what would fail (metadata too large).
    createSingleEncryptStream(keyring, { ...seal, clientMetadata: object.metadata });
    return 'would-encrypt';
  }
  const tagging = await readTagging(client, object.bucket, object.key);
  const get = await client.send(
    new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: object.etag }),
  );
  let source = get.Body as Readable;
  let plaintextMd5: Buffer | undefined;
  if (plaintextSize <= options.chunkSizeBytes) {
    const body = Buffer.from(await get.Body!.transformToByteArray());
    plaintextMd5 = createHash('md5').update(body).digest();
    source = Readable.from([body]);
  }
  const { envelope, encrypt } = createSingleEncryptStream(keyring, {
    ...seal,
    plaintextMd5,
    clientMetadata: object.metadata,
  });
  await putInPlace(client, object, {
    stages: [source, encrypt],
    storedSize,
    metadata: { ...object.metadata, ...envelope.metadata },
    tagging,
  });
  return 'encrypted';
}

/**
 * Writes a new body for an object over itself, pinned to the ETag read (If-Match on PutObject,
 * which S3 and MinIO check), keeping its content headers, storage class and SSE settings and
 * the given metadata and tags. `stages` run from the body read to the bytes to store; either
 * side failing stops both, and nothing partial is committed (S3 stores a PUT whole or not at all).
 */
export async function putInPlace(
  client: S3Client,
  object: ObjectVersionBase,
  write: {
    readonly stages: readonly [Readable, ...Transform[]];
    readonly storedSize: number;
    readonly metadata: Record<string, string>;
    readonly tagging: string | undefined;
  },
): Promise<void> {
  // The SDK reads the body as it sends; the pipeline feeds it.
  const body = new PassThrough();
  const feeding = pipeline([...write.stages, body]);
  const putting = client.send(
    new PutObjectCommand({
      ...describingHeaders(object.head),
      Bucket: object.bucket,
      Key: object.key,
      IfMatch: object.etag,
      Body: body,
      ContentLength: write.storedSize,
      Metadata: write.metadata,
      ...(write.tagging !== undefined ? { Tagging: write.tagging } : {}),
    }),
  );
  try {
    await Promise.all([feeding, putting]);
  } catch (err: unknown) {
    for (const stage of write.stages) stage.destroy();
    body.destroy();
    throw err;
  }
}
