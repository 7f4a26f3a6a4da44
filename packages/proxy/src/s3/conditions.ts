import type { IncomingHttpHeaders } from 'node:http';

/** The outcome of a read's conditional headers (RFC 9110 §13.2.2, as S3 applies them). */
export type ConditionResult = 'proceed' | 'not-modified' | 'precondition-failed';

export function hasConditions(headers: IncomingHttpHeaders): boolean {
  return (
    headers['if-match'] !== undefined ||
    headers['if-none-match'] !== undefined ||
    headers['if-modified-since'] !== undefined ||
    headers['if-unmodified-since'] !== undefined
  );
}

/** Evaluates conditions against the object as the client sees it (its plaintext ETag). */
export function evaluateConditions(
  headers: IncomingHttpHeaders,
  etags: string | readonly string[],
  lastModified: Date | undefined,
): ConditionResult {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  const ifModifiedSince = parseDate(headers['if-modified-since']);
  const ifUnmodifiedSince = parseDate(headers['if-unmodified-since']);
  const modifiedSeconds = lastModified ? Math.floor(lastModified.getTime() / 1000) : undefined;

  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, etags)) return 'precondition-failed';
  } else if (ifUnmodifiedSince !== undefined && modifiedSeconds !== undefined) {
    if (modifiedSeconds > Math.floor(ifUnmodifiedSince.getTime() / 1000)) return 'precondition-failed';
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, etags)) return 'not-modified';
  } else if (ifModifiedSince !== undefined && modifiedSeconds !== undefined) {
    if (modifiedSeconds <= Math.floor(ifModifiedSince.getTime() / 1000)) return 'not-modified';
  }
  return 'proceed';
}

/** Whether any ETag in a header list names this object (under any of its equivalent ETags). */
function etagListMatches(list: string, etags: string | readonly string[]): boolean {
  const known = (typeof etags === 'string' ? [etags] : etags).map(stripQuotes);
  return list.split(',').some((item) => {
    const candidate = item.trim().replace(/^W\//, '');
    return candidate === '*' || known.includes(stripQuotes(candidate));
  });
}

function stripQuotes(value: string): string {
  return value.replace(/^"(.*)"$/, '$1');
}

function parseDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
