// Helpers shared by core's unit tests: keyrings and whole objects in memory.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import {
  DecryptStream,
  describeLayout,
  EncryptStream,
  encodePartHeader,
  Keyring,
  newPartHeader,
  openEnvelope,
  partSegmentKey,
  PART_HEADER_BYTES,
  planRead,
  sealEnvelope,
} from '../index.js';
import type { AlgorithmName, ObjectLayout, PartHeader, SealedObjectInfo } from '../index.js';

export function makeKeyring(
  versions = ['v1'],
  active = versions[versions.length - 1]!,
  id = 'default',
): Keyring {
  const keys = new Map(versions.map((v) => [v, randomBytes(32)] as const));
  return Keyring.fromKeys(id, keys, active);
}

/** Feeds `data` to a transform in pieces of random sizes, to exercise every gathering path. */
export async function runInPieces(transform: Transform, data: Buffer, maxPiece = 97): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const size = 1 + Math.floor(Math.random() * maxPiece);
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), transform, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) out.push(chunk);
  });
  return Buffer.concat(out);
}

export interface MultipartObject {
  readonly info: SealedObjectInfo;
  readonly metadata: Record<string, string>;
  readonly sealed: Buffer;
  readonly layout: ObjectLayout;
  readonly headers: PartHeader[];
}

/** Seals parts as the proxy will for a multipart upload: one DEK, a header per part. */
export async function sealMultipart(
  keyring: Keyring,
  parts: Buffer[],
  options: { objectKey: string; chunkSize: number; algorithm?: AlgorithmName },
): Promise<MultipartObject> {
  const envelope = sealEnvelope(keyring, { ...options, layout: 'multipart' });
  const sealedParts: Buffer[] = [];
  const headers: PartHeader[] = [];
  for (const [i, part] of parts.entries()) {
    const header = newPartHeader(i + 1);
    headers.push(header);
    const encrypt = new EncryptStream({
      algorithm: envelope.info.algorithm,
      chunkSize: options.chunkSize,
      key: partSegmentKey(envelope.info, envelope.dek, header),
      plaintextSize: part.length,
      header: encodePartHeader(envelope.info.algorithm, header),
    });
    sealedParts.push(await runInPieces(encrypt, part));
  }
  const layout = describeLayout(
    options.chunkSize,
    parts.map((p) => ({ plaintextSize: p.length, headerBytes: PART_HEADER_BYTES })),
  );
  return {
    info: envelope.info,
    metadata: envelope.metadata,
    sealed: Buffer.concat(sealedParts),
    layout,
    headers,
  };
}

/** Reads a multipart object (or a range of it) as the proxy will. */
export async function openMultipart(
  keyring: Keyring,
  object: Pick<MultipartObject, 'metadata' | 'sealed' | 'layout' | 'headers'>,
  objectKey: string,
  range?: { start: number; end: number },
): Promise<Buffer> {
  const { info, dek } = openEnvelope(keyring, object.metadata, objectKey);
  const plan = range ? planRead(object.layout, range.start, range.end) : planRead(object.layout);
  const decrypt = new DecryptStream({
    algorithm: info.algorithm,
    layout: object.layout,
    plan,
    // A read that starts inside a part learns that part's header from an earlier read.
    firstHeader: plan.startsWithHeader ? undefined : object.headers[plan.firstSegment],
    segmentKey: (_index, header) => partSegmentKey(info, dek, header!),
  });
  return runInPieces(decrypt, object.sealed.subarray(plan.sealedStart, plan.sealedEnd), 4096);
}

export function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}
