import { S3Error } from './errors.js';

/** A `Range: bytes=…` request, parsed once (GET, HEAD and later UploadPartCopy use it). */
export type ByteRange =
  | { readonly kind: 'bounded'; readonly start: number; readonly end: number }
  | { readonly kind: 'from'; readonly start: number }
  | { readonly kind: 'suffix'; readonly length: number };

/**
 * Parses a Range header. Like S3, a header that is not a single well-formed byte range is
 * ignored (the whole object is served) rather than refused: S3 does not do multi-range.
 */
export function parseRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  // RFC 9110's optional whitespace is SP and HTAB only (\s would take NBSP, LF, VT…).
  const m = /^[ \t]*bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i.exec(header);
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a.length > 16 || b.length > 16) return undefined;
  // 16 digits can pass 2^53: such a number would round, and two different ends compare equal.
  const start = a === '' ? 0 : Number(a);
  const end = b === '' ? 0 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return undefined;
  if (a === '') return { kind: 'suffix', length: end };
  if (b === '') return { kind: 'from', start };
  return end < start ? undefined : { kind: 'bounded', start, end };
}

/** The inclusive plaintext bytes a range selects in an object of `size` bytes; 416 where S3 answers it. */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
  switch (range.kind) {
    case 'bounded':
    case 'from': {
      if (range.start >= size) throw notSatisfiable(size);
      const end = range.kind === 'bounded' ? Math.min(range.end, size - 1) : size - 1;
      return { start: range.start, end };
    }
    case 'suffix':
      if (range.length === 0 || size === 0) throw notSatisfiable(size);
      return { start: Math.max(0, size - range.length), end: size - 1 };
  }
}

function notSatisfiable(size: number): S3Error {
  return new S3Error(
    'InvalidRange',
    `The requested range is not satisfiable for an object of ${size} bytes.`,
    {
      fields: { ActualObjectSize: String(size) },
    },
  );
}
