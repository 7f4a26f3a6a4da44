import { S3Error } from '../s3/errors.js';
import { MAX_PART_NUMBER, parsePartNumber } from '../s3/part-number.js';
import { parseXmlRequest } from '../s3/xml.js';
import type { PartRecord } from '../state/upload-state-store.js';

/**
 * The checks of CompleteMultipartUpload, as S3 makes them, on the client's list against the
 * parts the proxy recorded. Pure: the handler reads the body and the records.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 */

/** Every part but the last must hold at least 5 MiB (of plaintext: what the client sent). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface RequestedPart {
  readonly partNumber: number;
  /** Unquoted, lower case. */
  readonly etag: string;
  /** Flexible checksums the client lists for the part, by algorithm (`CRC32` → base64). */
  readonly checksums: ReadonlyMap<string, string>;
}

export interface CompletedPart extends PartRecord {
  readonly partNumber: number;
}

/** The parts of a CompleteMultipartUpload body, in the client's order; MalformedXML when it is not one. */
export function parseCompleteRequest(xml: string): RequestedPart[] {
  const doc = parseXmlRequest(xml);
  const root = doc['CompleteMultipartUpload'];
  if (root === null || typeof root !== 'object') throw new S3Error('MalformedXML');
  const listed = (root as Record<string, unknown>)['Part'];
  const parts = Array.isArray(listed) ? listed : listed === undefined ? [] : [listed];
  if (parts.length === 0) {
    throw new S3Error('MalformedXML', 'CompleteMultipartUpload must list at least one part');
  }
  if (parts.length > MAX_PART_NUMBER) {
    throw new S3Error('MalformedXML', `CompleteMultipartUpload lists more than ${MAX_PART_NUMBER} parts`);
  }
  return parts.map((part: unknown) => {
    if (part === null || typeof part !== 'object') throw new S3Error('MalformedXML');
    const fields = part as Record<string, unknown>;
    const number = fields['PartNumber'];
    const etag = fields['ETag'];
    if (typeof number !== 'string' || typeof etag !== 'string') {
      throw new S3Error('MalformedXML', 'every Part needs a PartNumber and an ETag');
    }
    const checksums = new Map<string, string>();
    for (const [name, value] of Object.entries(fields)) {
      if (name.startsWith('Checksum') && typeof value === 'string')
        checksums.set(name.slice(8), value.trim());
    }
    return { partNumber: parsePartNumber(number), etag: normalizeEtag(etag), checksums };
  });
}

/**
 * Checks the list as S3 would: strictly ascending part numbers (InvalidPartOrder), each part
 * recorded with that ETag and checksum (InvalidPart), every part but the last at least 5 MiB
 * (EntityTooSmall). Returns the recorded parts to complete, in order.
 */
export function checkCompletion(
  requested: readonly RequestedPart[],
  recorded: ReadonlyMap<number, PartRecord>,
): CompletedPart[] {
  let previous = 0;
  const parts: CompletedPart[] = [];
  for (const want of requested) {
    if (want.partNumber <= previous) throw new S3Error('InvalidPartOrder');
    previous = want.partNumber;
    const record = recorded.get(want.partNumber);
    if (!record || record.md5Hex !== want.etag) {
      throw new S3Error('InvalidPart', undefined, {
        fields: { PartNumber: String(want.partNumber), ETag: `"${want.etag}"` },
      });
    }
    const listedChecksum = record.checksum && want.checksums.get(record.checksum.algorithm);
    if (listedChecksum !== undefined && listedChecksum !== record.checksum!.base64) {
      throw new S3Error(
        'InvalidPart',
        `part ${want.partNumber}'s ${record.checksum!.algorithm} does not match`,
      );
    }
    parts.push({ ...record, partNumber: want.partNumber });
  }
  for (const part of parts.slice(0, -1)) {
    if (part.plaintextSize < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', undefined, {
        fields: {
          PartNumber: String(part.partNumber),
          ProposedSize: String(part.plaintextSize),
          MinSizeAllowed: String(MIN_PART_BYTES),
        },
      });
    }
  }
  return parts;
}

/**
 * Part numbers of the parts but the last that are not a whole number of chunks: with any,
 * a listing's size for the object is approximate (docs/FORMAT.md §3, §5a).
 */
export function unalignedParts(parts: readonly CompletedPart[], chunkSize: number): number[] {
  return parts
    .slice(0, -1)
    .filter((p) => p.plaintextSize % chunkSize !== 0)
    .map((p) => p.partNumber);
}

/** An ETag as clients write it (`"abc"`, `abc`, upper or lower case) to compare with an MD5. */
export function normalizeEtag(etag: string): string {
  return etag
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase();
}
