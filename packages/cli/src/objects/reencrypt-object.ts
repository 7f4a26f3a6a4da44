import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  assertClientMetadataFits,
  clientMetadataOf,
  createObjectDecryptStream,
  EncryptStream,
  openEnvelopeWith,
  sealedSize,
  sealEnvelopeWith,
  singleSegmentKey,
} from '@s3seal/core';
import type { KeySources } from '@s3seal/core';
import { CliError } from '../errors.js';
import { readTagging } from '../s3/backend-client.js';
import { readLayout } from '../s3/stored-object.js';
import type { SealedObject } from '../s3/stored-object.js';
import { MAX_PUT_OBJECT_BYTES, putInPlace } from './encrypt-object.js';

export interface ReencryptResult {
  readonly status: 'reencrypted' | 'would-reencrypt';
  /** `<key source>:<version>` before and after. */
  readonly from: string;
  readonly to: string;
}

/**
 * Encrypts a sealed object again under a **new data key** wrapped by the active key source: the
 * recovery after a KEK (or its Secret backup) was stolen, which a rewrap cannot give, since a
 * rewrap keeps the DEK that the thief can already unwrap from old metadata (docs/SECURITY.md (e)).
 * GET pinned to the ETag read, every chunk authenticated on the way through, sealed again with
 * the object's algorithm, chunk size and key binding, PUT over itself pinned to the same ETag:
 * an object overwritten meanwhile fails with PreconditionFailed and keeps the newer version. A
 * multipart object becomes one single-PUT object (as a copy through the proxy does); sealed
 * objects over 5 GiB are refused (one PutObject). Kept as encrypt-legacy keeps them: content
 * headers, storage class, SSE settings, user metadata and tags.
 */
export async function reencryptObject(
  client: S3Client,
  sources: KeySources,
  object: SealedObject,
  options: { isDryRun: boolean },
): Promise<ReencryptResult> {
  const location = { bucket: object.bucket, key: object.key };
  // Unwraps before anything is written (or in a dry run): a key that is gone fails here.
  const old = await openEnvelopeWith(sources, object.metadata, location);
  const { layout } = await readLayout(client, object);
  const plaintextSize = layout.plaintextSize;
  const storedSize = sealedSize(plaintextSize, old.info.chunkSize);
  if (storedSize > MAX_PUT_OBJECT_BYTES) {
    throw new CliError(
      'S3SEAL_CLI_NOT_SUPPORTED',
      `re-encrypted, it would be ${storedSize} bytes, over the 5 GiB of one PutObject: copy it through the proxy instead`,
    );
  }
  const envelope = await sealEnvelopeWith(sources, object.bucket, {
    objectKey: object.key,
    layout: 'single',
    plaintextSize,
    // The same plaintext: an MD5 recorded for it stays true (and is checked by the next verify).
    plaintextMd5: old.info.plaintextMd5,
    algorithm: old.info.algorithm.name,
    chunkSize: old.info.chunkSize,
    bindObjectKey: old.info.isKeyBound,
  });
  const clientMetadata = clientMetadataOf(object.metadata);
  assertClientMetadataFits(clientMetadata, envelope.metadata);
  const from = `${old.info.kek.keyringId}:${old.info.kek.version}`;
  const to = `${envelope.info.kek.keyringId}:${envelope.info.kek.version}`;
  if (options.isDryRun) return { status: 'would-reencrypt', from, to };

  const tagging = await readTagging(client, object.bucket, object.key);
  const get = await client.send(
    new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: object.etag }),
  );
  await putInPlace(client, object, {
    stages: [
      get.Body as Readable,
      createObjectDecryptStream(old.info, old.dek, layout),
      new EncryptStream({
        algorithm: envelope.info.algorithm,
        chunkSize: envelope.info.chunkSize,
        key: singleSegmentKey(envelope.info, envelope.dek),
        plaintextSize,
      }),
    ],
    storedSize,
    metadata: { ...clientMetadata, ...envelope.metadata },
    tagging,
  });
  return { status: 'reencrypted', from, to };
}
