import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { createObjectDecryptStream, openEnvelopeWith } from '@s3seal/core';
import type { KeySources } from '@s3seal/core';
import { CliError } from '../errors.js';
import { readLayout } from '../s3/stored-object.js';
import type { SealedObject } from '../s3/stored-object.js';

/**
 * Decrypts a whole sealed object and throws unless all of it checks: the data key unwraps
 * (metadata unaltered, KEK held), the stored size is the one the metadata (and, for multipart,
 * the part sizes) imply, every chunk authenticates, every part header is in order, and the
 * plaintext has the recorded size and MD5. The body is streamed (one chunk held at a time) and
 * its plaintext thrown away. Returns the plaintext size.
 */
export async function verifyObject(
  client: S3Client,
  sources: KeySources,
  object: SealedObject,
): Promise<number> {
  const { info, dek } = await openEnvelopeWith(sources, object.metadata, object);
  const { layout } = await readLayout(client, object);
  const get = await client.send(
    new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: object.etag }),
  );
  if (get.ContentLength !== undefined && get.ContentLength !== layout.sealedSize) {
    throw new CliError(
      'S3SEAL_CLI_STORED_SIZE',
      `the backend sends ${get.ContentLength} bytes; the metadata implies ${layout.sealedSize}`,
    );
  }
  const md5 = createHash('md5');
  let plaintextBytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      md5.update(chunk);
      plaintextBytes += chunk.length;
      done();
    },
  });
  await pipeline(get.Body as Readable, createObjectDecryptStream(info, dek, layout), sink);
  if (plaintextBytes !== layout.plaintextSize) {
    throw new CliError(
      'S3SEAL_CLI_PLAINTEXT_MISMATCH',
      `decrypted ${plaintextBytes} bytes; the object holds ${layout.plaintextSize}`,
    );
  }
  const digest = md5.digest();
  if (info.plaintextMd5 !== undefined && !digest.equals(info.plaintextMd5)) {
    throw new CliError(
      'S3SEAL_CLI_PLAINTEXT_MISMATCH',
      `the plaintext's MD5 is ${digest.toString('hex')}; the metadata records ${info.plaintextMd5.toString('hex')}`,
    );
  }
  return plaintextBytes;
}
