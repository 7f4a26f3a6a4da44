import type { S3Client } from '@aws-sdk/client-s3';
import { isCoreError, META, openEnvelope } from '@s3seal/core';
import type { Keyring } from '@s3seal/core';
import { readLayout, readStoredObject } from '../s3/stored-object.js';

export interface PartReport {
  readonly partNumber: number;
  readonly plaintextBytes: number;
  readonly sealedBytes: number;
}

/** What `s3seal inspect` reports about one object (also its --json output). */
export type InspectReport =
  | {
      readonly bucket: string;
      readonly key: string;
      readonly isSealed: false;
      readonly etag: string;
      readonly storedBytes: number;
    }
  | {
      readonly bucket: string;
      readonly key: string;
      readonly isSealed: true;
      readonly etag: string;
      readonly formatVersion: number;
      readonly algorithm: string;
      readonly chunkSizeBytes: number;
      readonly layout: 'single' | 'multipart';
      readonly plaintextBytes: number;
      readonly sealedBytes: number;
      /** Lower-case hex, when the writer recorded it. */
      readonly plaintextMd5: string | undefined;
      readonly isKeyBound: boolean;
      readonly keyringId: string;
      readonly kekVersion: string;
      /** Who wrapped the data key: `kwp` (a keyring), `vault-transit` or `aws-kms`. */
      readonly wrap: string;
      /** Whether the given keyring holds that version (undefined: no keyring given). */
      readonly isKekInKeyring: boolean | undefined;
      /**
       * Whether the data key unwraps with it, which also proves the metadata unaltered
       * (undefined: not tried, the keyring lacks the version or none was given).
       */
      readonly doesDekUnwrap: boolean | undefined;
      readonly parts: readonly PartReport[] | undefined;
    };

/** HEADs an object (and each part of a multipart one) and describes its envelope. */
export async function inspectObject(
  client: S3Client,
  bucket: string,
  key: string,
  keyring: Keyring | undefined,
): Promise<InspectReport> {
  const object = await readStoredObject(client, bucket, key);
  if (object.kind === 'legacy') {
    return { bucket, key, isSealed: false, etag: object.etag, storedBytes: object.storedBytes };
  }
  const { info } = object;
  const { layout } = await readLayout(client, object);
  const isKekInKeyring = keyring
    ? keyring.id === info.kek.keyringId && keyring.versions().includes(info.kek.version)
    : undefined;
  return {
    bucket,
    key,
    isSealed: true,
    etag: object.etag,
    formatVersion: Number(object.metadata[META.version]),
    algorithm: info.algorithm.name,
    chunkSizeBytes: info.chunkSize,
    layout: info.layout,
    plaintextBytes: layout.plaintextSize,
    sealedBytes: layout.sealedSize,
    plaintextMd5: info.plaintextMd5?.toString('hex'),
    isKeyBound: info.isKeyBound,
    keyringId: info.kek.keyringId,
    kekVersion: info.kek.version,
    wrap: info.wrap,
    isKekInKeyring,
    doesDekUnwrap: keyring && isKekInKeyring ? unwraps(keyring, object.metadata, key) : undefined,
    parts:
      info.layout === 'multipart'
        ? layout.segments.map((s, i) => ({
            partNumber: i + 1,
            plaintextBytes: s.plaintextSize,
            sealedBytes: s.sealedSize,
          }))
        : undefined,
  };
}

function unwraps(keyring: Keyring, metadata: Readonly<Record<string, string>>, key: string): boolean {
  try {
    openEnvelope(keyring, metadata, key);
    return true;
  } catch (err: unknown) {
    if (isCoreError(err, 'S3SEAL_KEY_UNWRAP_FAILED')) return false;
    throw err;
  }
}

/** The report for people: one field a line, parts indented. */
export function renderInspectReport(report: InspectReport): string {
  const url = `s3://${report.bucket}/${report.key}`;
  if (!report.isSealed) {
    return `${url}\n  not encrypted: no s3seal metadata (a legacy object; see s3seal encrypt-legacy)\n  stored size      ${report.storedBytes}\n`;
  }
  const inKeyring =
    report.isKekInKeyring === undefined
      ? 'no keyring given'
      : report.isKekInKeyring
        ? 'in keyring'
        : 'NOT in keyring';
  const unwrap =
    report.doesDekUnwrap === undefined
      ? ''
      : report.doesDekUnwrap
        ? ', data key unwraps'
        : ', data key does NOT unwrap';
  const lines = [
    url,
    `  format version   ${report.formatVersion}`,
    `  algorithm        ${report.algorithm}`,
    `  chunk size       ${report.chunkSizeBytes}`,
    `  layout           ${report.layout}`,
    `  plaintext size   ${report.plaintextBytes}`,
    `  sealed size      ${report.sealedBytes}`,
    `  plaintext md5    ${report.plaintextMd5 ?? '(not recorded)'}`,
    `  key binding      ${report.isKeyBound ? 'key' : 'none'}`,
    `  key source       ${report.keyringId} (${report.wrap === 'kwp' ? 'keyring' : report.wrap})`,
    report.wrap === 'kwp'
      ? `  kek version      ${report.kekVersion} (${inKeyring}${unwrap})`
      : `  key version      ${report.kekVersion} (held by the key manager)`,
    `  backend etag     ${report.etag}`,
  ];
  if (report.parts) {
    lines.push(`  parts            ${report.parts.length}`);
    for (const part of report.parts) {
      lines.push(`    part ${part.partNumber}  plaintext ${part.plaintextBytes}  sealed ${part.sealedBytes}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
