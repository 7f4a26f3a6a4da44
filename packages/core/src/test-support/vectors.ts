// Builds the test vectors published in docs/FORMAT.md from fixed inputs, so the doc can be
// regenerated (`node scripts/format-vectors.mjs`) and checked (format/vectors.test.ts).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DecryptStream,
  describeLayout,
  EncryptStream,
  encodePartHeader,
  Keyring,
  openEnvelope,
  PART_HEADER_BYTES,
  partSegmentKey,
  planRead,
  sealEnvelope,
  singleSegmentKey,
} from '../index.js';
import type { AlgorithmName, PartHeader } from '../index.js';
import { bindingDigest } from '../format/metadata.js';
import { deriveSegmentKey, deriveWrapKey } from '../format/keys.js';

export interface VectorInput {
  name: string;
  algorithm: AlgorithmName;
  chunkSize: number;
  objectKey: string;
  bindObjectKey: boolean;
  kekBase64: string;
  keyringId: string;
  kekVersion: string;
  dekHex: string;
  /** One entry for a single-PUT object; one per part (with its salt) for multipart. */
  parts: { plaintextHex: string; saltHex?: string }[];
  layout: 'single' | 'multipart';
  plaintextMd5Hex?: string;
}

export interface Vector extends VectorInput {
  bindingDigestHex: string;
  wrapKeyHex: string;
  segmentKeysHex: string[];
  metadata: Record<string, string>;
  sealedHex: string;
}

async function run(transform: NodeJS.ReadWriteStream & Readable, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([input]), transform, async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) out.push(c);
  });
  return Buffer.concat(out);
}

export function keyringOf(v: VectorInput): Keyring {
  return Keyring.fromKeys(
    v.keyringId,
    new Map([[v.kekVersion, Buffer.from(v.kekBase64, 'base64')]]),
    v.kekVersion,
  );
}

/** Computes every output of a vector from its inputs. */
export async function buildVector(v: VectorInput): Promise<Vector> {
  const keyring = keyringOf(v);
  const plaintexts = v.parts.map((p) => Buffer.from(p.plaintextHex, 'hex'));
  const total = Buffer.concat(plaintexts);
  const envelope = sealEnvelope(
    keyring,
    {
      objectKey: v.objectKey,
      layout: v.layout,
      plaintextSize: v.layout === 'single' ? total.length : undefined,
      plaintextMd5: v.plaintextMd5Hex === undefined ? undefined : Buffer.from(v.plaintextMd5Hex, 'hex'),
      algorithm: v.algorithm,
      chunkSize: v.chunkSize,
      bindObjectKey: v.bindObjectKey,
    },
    () => Buffer.from(v.dekHex, 'hex'),
  );
  const digest = bindingDigest(envelope.info, v.objectKey);
  const wrapKey = deriveWrapKey(keyring.activeKek().key, digest).export();
  const sealedParts: Buffer[] = [];
  const segmentKeys: Buffer[] = [];
  for (const [i, plaintext] of plaintexts.entries()) {
    let header: PartHeader | undefined;
    if (v.layout === 'multipart')
      header = { partNumber: i + 1, salt: Buffer.from(v.parts[i]!.saltHex!, 'hex') };
    const key = header
      ? partSegmentKey(envelope.info, envelope.dek, header)
      : singleSegmentKey(envelope.info, envelope.dek);
    segmentKeys.push(key.export());
    sealedParts.push(
      await run(
        new EncryptStream({
          algorithm: envelope.info.algorithm,
          chunkSize: v.chunkSize,
          key,
          plaintextSize: plaintext.length,
          header: header ? encodePartHeader(envelope.info.algorithm, header) : undefined,
        }),
        plaintext,
      ),
    );
  }
  return {
    ...v,
    bindingDigestHex: digest.toString('hex'),
    wrapKeyHex: wrapKey.toString('hex'),
    segmentKeysHex: segmentKeys.map((k) => k.toString('hex')),
    metadata: envelope.metadata,
    sealedHex: Buffer.concat(sealedParts).toString('hex'),
  };
}

/** Decrypts a vector's stored bytes using only what a reader has: keyring, metadata, sizes. */
export async function openVector(v: Vector): Promise<Buffer> {
  const keyring = keyringOf(v);
  const { info, dek } = openEnvelope(keyring, v.metadata, v.objectKey);
  const sealed = Buffer.from(v.sealedHex, 'hex');
  const headerBytes = info.layout === 'multipart' ? PART_HEADER_BYTES : 0;
  const layout = describeLayout(
    info.chunkSize,
    v.parts.map((p) => ({ plaintextSize: p.plaintextHex.length / 2, headerBytes })),
  );
  const decrypt = new DecryptStream({
    algorithm: info.algorithm,
    layout,
    plan: planRead(layout),
    segmentKey: (_i, header) =>
      header
        ? deriveSegmentKey(dek, info.algorithm, header.partNumber, header.salt)
        : singleSegmentKey(info, dek),
  });
  return run(decrypt, sealed);
}

const KEK = Buffer.alloc(32, 0x4b).toString('base64'); // "KKKK…": a published, obviously fake key
const DEK = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex').toString(
  'hex',
);
const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

export const VECTOR_INPUTS: VectorInput[] = [
  {
    name: 'single-empty',
    algorithm: 'AES256GCM',
    chunkSize: 65536,
    objectKey: 'empty.txt',
    bindObjectKey: true,
    kekBase64: KEK,
    keyringId: 'default',
    kekVersion: 'v1',
    dekHex: DEK,
    parts: [{ plaintextHex: '' }],
    layout: 'single',
  },
  {
    name: 'single-aes-three-chunks',
    algorithm: 'AES256GCM',
    chunkSize: 16,
    objectKey: 'backups/2026-11-22/base.tar',
    bindObjectKey: true,
    kekBase64: KEK,
    keyringId: 'default',
    kekVersion: 'v3',
    dekHex: DEK,
    parts: [{ plaintextHex: hex('s3seal test vector: thirty-eight bytes') }],
    layout: 'single',
    plaintextMd5Hex: '17bd974a18b9dd97e542824f297fdc68',
  },
  {
    name: 'single-chacha-unbound',
    algorithm: 'CHACHA20POLY1305',
    chunkSize: 16,
    objectKey: 'logs/chunk-000001',
    bindObjectKey: false,
    kekBase64: KEK,
    keyringId: 'backups',
    kekVersion: 'v1',
    dekHex: DEK,
    parts: [{ plaintextHex: hex('exactly 32 bytes of plaintext!!!') }],
    layout: 'single',
  },
  {
    name: 'multipart-two-parts',
    algorithm: 'AES256GCM',
    chunkSize: 16,
    objectKey: 'videos/big.mp4',
    bindObjectKey: true,
    kekBase64: KEK,
    keyringId: 'default',
    kekVersion: 'v1',
    dekHex: DEK,
    parts: [
      { plaintextHex: hex('part one: 20 bytes..'), saltHex: '1111111111111111111111111111111111111111' },
      { plaintextHex: hex('part two'), saltHex: '2222222222222222222222222222222222222222' },
    ],
    layout: 'multipart',
  },
];
