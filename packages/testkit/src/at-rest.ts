import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

/** The bytes and metadata the backend really holds for a key (a client aimed at the backend, not the proxy). */
export async function readRawObject(
  backend: S3Client,
  bucket: string,
  key: string,
): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const out = await backend.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: Buffer.from(await out.Body!.transformToByteArray()), metadata: out.Metadata ?? {} };
}

/**
 * Throws unless the stored bytes are ciphertext of `plaintext`: they carry s3seal metadata and
 * no run of 32 plaintext bytes appears in them. Every integration test that writes through the
 * proxy checks this against the raw backend.
 */
export async function assertCiphertextAtRest(
  backend: S3Client,
  bucket: string,
  key: string,
  plaintext: Buffer,
): Promise<void> {
  const { body, metadata } = await readRawObject(backend, bucket, key);
  if (metadata['s3seal-v'] !== '1') throw new Error(`object ${key} has no s3seal metadata at rest`);
  const window = 32;
  if (plaintext.length >= window) {
    // Sample windows across the plaintext (all of them for small objects).
    const step = Math.max(1, Math.floor((plaintext.length - window) / 256));
    for (let at = 0; at + window <= plaintext.length; at += step) {
      if (body.includes(plaintext.subarray(at, at + window))) {
        throw new Error(`plaintext bytes ${at}..${at + window} of ${key} are stored in clear`);
      }
    }
  } else if (
    plaintext.length >= 8 ? body.includes(plaintext) : plaintext.length > 0 && body.equals(plaintext)
  ) {
    // A run of fewer than 8 bytes turns up in ciphertext by chance (one byte in a 17-byte
    // sealed object: ~6 %), so for those only a stored body equal to the plaintext is a leak.
    throw new Error(`the plaintext of ${key} is stored in clear`);
  }
}
