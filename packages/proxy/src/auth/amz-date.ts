/**
 * SigV4 timestamps: `yyyymmddThhmmssZ` (x-amz-date, X-Amz-Date and every string to sign).
 */

function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (!(c >= 0 && c <= 9)) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** Parses `yyyymmddThhmmssZ`; `undefined` unless it is exactly that and a real UTC instant. */
export function parseAmzDate(text: string): Date | undefined {
  if (text.length !== 16 || text[8] !== 'T' || text[15] !== 'Z') return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 4, 2);
  const day = digitsAt(text, 6, 2);
  const hour = digitsAt(text, 9, 2);
  const minute = digitsAt(text, 11, 2);
  const second = digitsAt(text, 13, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return undefined;
  }
  if (second < 0 || second > 59) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 31 February over to March; refuse that.
  return date.getUTCDate() === day ? date : undefined;
}

export function toAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}
