import { describe, expect, it } from '@jest/globals';
import { evaluateConditions } from './conditions.js';
import { parseRange, resolveRange } from './range.js';

describe('Range', () => {
  it.each([
    ['bytes=0-99', { kind: 'bounded', start: 0, end: 99 }],
    ['bytes=100-', { kind: 'from', start: 100 }],
    ['bytes=-5', { kind: 'suffix', length: 5 }],
    ['bytes=5-1', undefined],
    ['bytes=0-1,5-6', undefined],
    ['items=0-1', undefined],
    ['bytes=-', undefined],
  ])('%s', (header, parsed) => {
    expect(parseRange(header)).toEqual(parsed);
  });

  it('resolves against the plaintext size as S3 does', () => {
    expect(resolveRange({ kind: 'bounded', start: 10, end: 1000 }, 100)).toEqual({ start: 10, end: 99 });
    expect(resolveRange({ kind: 'suffix', length: 1000 }, 100)).toEqual({ start: 0, end: 99 });
    expect(() => resolveRange({ kind: 'from', start: 100 }, 100)).toThrow(
      expect.objectContaining({ status: 416 }),
    );
    expect(() => resolveRange({ kind: 'suffix', length: 0 }, 100)).toThrow(
      expect.objectContaining({ status: 416 }),
    );
    expect(() => resolveRange({ kind: 'bounded', start: 0, end: 0 }, 0)).toThrow(
      expect.objectContaining({ status: 416 }),
    );
  });
});

describe('conditional requests', () => {
  const etag = '"abc"';
  const modified = new Date('2026-11-20T10:00:00Z');
  it.each([
    [{ 'if-match': '"abc"' }, 'proceed'],
    [{ 'if-match': '"nope"' }, 'precondition-failed'],
    [{ 'if-match': '*' }, 'proceed'],
    [{ 'if-none-match': '"abc"' }, 'not-modified'],
    [{ 'if-none-match': '"nope"' }, 'proceed'],
    [{ 'if-modified-since': 'Fri, 20 Nov 2026 10:00:00 GMT' }, 'not-modified'],
    [{ 'if-modified-since': 'Thu, 19 Nov 2026 10:00:00 GMT' }, 'proceed'],
    [{ 'if-unmodified-since': 'Thu, 19 Nov 2026 10:00:00 GMT' }, 'precondition-failed'],
    // If-Match that holds overrides If-Unmodified-Since, as S3 documents.
    [{ 'if-match': '"abc"', 'if-unmodified-since': 'Thu, 19 Nov 2026 10:00:00 GMT' }, 'proceed'],
    [{ 'if-none-match': '"nope"', 'if-modified-since': 'Fri, 20 Nov 2026 10:00:00 GMT' }, 'proceed'],
  ])('%j → %s', (headers, outcome) => {
    expect(evaluateConditions(headers, etag, modified)).toBe(outcome);
  });
});
