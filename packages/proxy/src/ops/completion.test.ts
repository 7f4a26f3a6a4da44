import { describe, expect, it } from '@jest/globals';
import type { PartRecord } from '../state/upload-state-store.js';
import {
  checkCompletion,
  MIN_PART_BYTES,
  normalizeEtag,
  parseCompleteRequest,
  unalignedParts,
} from './completion.js';

const md5 = (n: number): string => n.toString(16).padStart(32, '0');
const record = (n: number, plaintextSize = MIN_PART_BYTES, extra: Partial<PartRecord> = {}): PartRecord => ({
  plaintextSize,
  sealedSize: plaintextSize + 1000,
  upstreamEtag: `"up${n}"`,
  md5Hex: md5(n),
  ...extra,
});
const xml = (parts: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts}</CompleteMultipartUpload>`;
const part = (n: number, etag = `"${md5(n)}"`, extra = ''): string =>
  `<Part><ETag>${etag}</ETag><PartNumber>${n}</PartNumber>${extra}</Part>`;
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err: unknown) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('parseCompleteRequest', () => {
  it('reads parts, ETags (quoted, entity-encoded or bare) and checksums', () => {
    const parts = parseCompleteRequest(
      xml(
        part(1, '&quot;' + md5(1).toUpperCase() + '&quot;') +
          part(2, md5(2), '<ChecksumCRC32>AAAAAA==</ChecksumCRC32>'),
      ),
    );
    expect(parts.map((p) => [p.partNumber, p.etag])).toEqual([
      [1, md5(1)],
      [2, md5(2)],
    ]);
    expect(parts[1]!.checksums.get('CRC32')).toBe('AAAAAA==');
  });

  it.each([
    ['not xml at all', 'MalformedXML'],
    ['<Other/>', 'MalformedXML'],
    [xml(''), 'MalformedXML'],
    [xml('<Part><PartNumber>1</PartNumber></Part>'), 'MalformedXML'],
    [xml(part(0)), 'InvalidArgument'],
    [xml(part(10001)), 'InvalidArgument'],
  ])('refuses %s', (body, code) => {
    expect(codeOf(() => parseCompleteRequest(body))).toBe(code);
  });
});

describe('checkCompletion', () => {
  const recorded = new Map([
    [1, record(1)],
    [2, record(2)],
    [3, record(3, 10)],
  ]);
  const want = (
    n: number,
    etag = md5(n),
  ): { partNumber: number; etag: string; checksums: Map<string, string> } => ({
    partNumber: n,
    etag,
    checksums: new Map(),
  });

  it('returns the recorded parts in order', () => {
    const parts = checkCompletion([want(1), want(2), want(3)], recorded);
    expect(parts.map((p) => [p.partNumber, p.upstreamEtag])).toEqual([
      [1, '"up1"'],
      [2, '"up2"'],
      [3, '"up3"'],
    ]);
  });

  it('allows a subset with gaps, and a small last part', () => {
    expect(checkCompletion([want(1), want(3)], recorded)).toHaveLength(2);
  });

  it.each([
    ['descending', [want(2), want(1)], 'InvalidPartOrder'],
    ['repeated', [want(1), want(1)], 'InvalidPartOrder'],
    ['unknown part', [want(1), want(4)], 'InvalidPart'],
    ['wrong ETag', [want(1), want(2, md5(9))], 'InvalidPart'],
  ])('refuses %s', (_name, list, code) => {
    expect(codeOf(() => checkCompletion(list, recorded))).toBe(code);
  });

  it('refuses a part under 5 MiB that is not the last', () => {
    const small = new Map([
      [1, record(1, MIN_PART_BYTES - 1)],
      [2, record(2)],
    ]);
    expect(codeOf(() => checkCompletion([want(1), want(2)], small))).toBe('EntityTooSmall');
    expect(checkCompletion([want(1)], small)).toHaveLength(1);
  });

  it('compares a listed checksum with the recorded one', () => {
    const withSum = new Map([[1, record(1, 10, { checksum: { algorithm: 'CRC32', base64: 'AAAAAA==' } })]]);
    const listed = (value: string): ReturnType<typeof want> => ({
      ...want(1),
      checksums: new Map([['CRC32', value]]),
    });
    expect(checkCompletion([listed('AAAAAA==')], withSum)).toHaveLength(1);
    expect(codeOf(() => checkCompletion([listed('AAAAAQ==')], withSum))).toBe('InvalidPart');
  });
});

describe('unalignedParts and normalizeEtag', () => {
  it('names non-final parts that are not whole chunks', () => {
    const parts = [1, 2, 3].map((n) => ({
      ...record(n, n === 2 ? MIN_PART_BYTES + 1 : MIN_PART_BYTES + 7),
      partNumber: n,
    }));
    expect(unalignedParts(parts, 65536)).toEqual([1, 2]);
  });

  it('normalizes quoting and case', () => {
    expect(normalizeEtag(' "ABC" ')).toBe('abc');
    expect(normalizeEtag('abc')).toBe('abc');
  });
});
