import { S3Error } from './errors.js';

/** S3 numbers the parts of a multipart upload 1..10000. */
export const MAX_PART_NUMBER = 10_000;

/**
 * A `partNumber` (query parameter of UploadPart, UploadPartCopy, GetObject and HeadObject, or
 * `<PartNumber>` of CompleteMultipartUpload), parsed once: an integer in 1..10000, else
 * InvalidArgument as S3 answers.
 */
export function parsePartNumber(value: string | undefined): number {
  const text = value?.trim() ?? '';
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      fields: { ArgumentName: 'partNumber', ArgumentValue: value ?? '' },
    });
  }
  return n;
}
