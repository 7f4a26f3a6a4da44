import { Readable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CoreError } from '../errors.js';
import type { Keyring } from '../keyring/keyring.js';
import { DecryptStream } from './decrypt-stream.js';
import { EncryptStream } from './encrypt-stream.js';
import { openEnvelope, sealEnvelope, singleSegmentKey } from './envelope.js';
import type { RandomBytes, SealOptions } from './envelope.js';
import { describeLayout, planRead } from './layout.js';
import type { SealedObjectInfo } from './metadata.js';

/**
 * One-shot helpers over the streams, for small objects (test vectors, CLI, tooling). They
 * hold the whole object in memory; the proxy never uses them on a request body.
 */
export async function sealBuffer(
  keyring: Keyring,
  plaintext: Buffer,
  options: Omit<SealOptions, 'layout' | 'plaintextSize'>,
  randomBytes?: RandomBytes,
): Promise<{ info: SealedObjectInfo; metadata: Record<string, string>; sealed: Buffer }> {
  const envelope = sealEnvelope(
    keyring,
    { ...options, layout: 'single', plaintextSize: plaintext.length },
    randomBytes,
  );
  const encrypt = new EncryptStream({
    algorithm: envelope.info.algorithm,
    chunkSize: envelope.info.chunkSize,
    key: singleSegmentKey(envelope.info, envelope.dek),
    plaintextSize: plaintext.length,
  });
  const sealed = await collect(Readable.from([plaintext]), encrypt);
  return { info: envelope.info, metadata: envelope.metadata, sealed };
}

/** Opens a single-PUT object held in memory; `range` is inclusive, already resolved. */
export async function openBuffer(
  keyring: Keyring,
  metadata: Readonly<Record<string, string>>,
  sealed: Buffer,
  objectKey: string,
  range?: { start: number; end: number },
): Promise<Buffer> {
  const { info, dek } = openEnvelope(keyring, metadata, objectKey);
  const layout = describeLayout(info.chunkSize, [{ plaintextSize: info.plaintextSize ?? 0, headerBytes: 0 }]);
  // The stored length must be the one the metadata implies: extra bytes are an extension.
  if (sealed.length !== layout.sealedSize) {
    throw new CoreError(
      'S3SEAL_CIPHERTEXT_INVALID',
      `the stored object is ${sealed.length} bytes; its metadata implies ${layout.sealedSize}`,
    );
  }
  const plan = range ? planRead(layout, range.start, range.end) : planRead(layout);
  const key = singleSegmentKey(info, dek);
  const decrypt = new DecryptStream({ algorithm: info.algorithm, layout, plan, segmentKey: () => key });
  return collect(Readable.from([sealed.subarray(plan.sealedStart, plan.sealedEnd)]), decrypt);
}

async function collect(source: Readable, transform: Transform): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(source, transform, async (chunks: AsyncIterable<Buffer | string>) => {
    for await (const chunk of chunks) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
  return Buffer.concat(parts);
}
