// The Range parser against a small reference model of RFC 9110 §14.1 byte ranges as S3 applies
// them (range.ts): one well-formed range is served, anything else (several ranges, bad syntax,
// last < first, numbers past 16 digits) is ignored and the whole object served; a satisfiable
// check then gives 416 as S3 does. S3SEAL_FUZZ_RUNS raises the run count (make fuzz).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isS3Error } from './errors.js';
import { parseRange, resolveRange } from './range.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);

type Outcome = 'whole' | 'unsatisfiable' | { start: number; end: number };

/** RFC 9110 OWS is SP / HTAB; range.ts also allows it around '=' and '-' and at either end. */
const OWS = '[ \\t]*';
const MODEL_RE = new RegExp(`^${OWS}bytes${OWS}=${OWS}([0-9]*)${OWS}-${OWS}([0-9]*)${OWS}$`, 'i');

function model(header: string | undefined, size: number): Outcome {
  if (header === undefined) return 'whole';
  const m = MODEL_RE.exec(header);
  if (m === null) return 'whole';
  const first = m[1]!;
  const last = m[2]!;
  if (first === '' && last === '') return 'whole';
  if (first.length > 16 || last.length > 16) return 'whole';
  const a = first === '' ? undefined : BigInt(first);
  const b = last === '' ? undefined : BigInt(last);
  if ((a ?? 0n) > BigInt(Number.MAX_SAFE_INTEGER) || (b ?? 0n) > BigInt(Number.MAX_SAFE_INTEGER))
    return 'whole';
  const n = BigInt(size);
  if (a === undefined) {
    // suffix-range: the last `b` bytes; zero of them, or an empty object, is unsatisfiable.
    if (b === 0n || n === 0n) return 'unsatisfiable';
    const start = n - b! < 0n ? 0n : n - b!;
    return { start: Number(start), end: size - 1 };
  }
  if (b !== undefined && b < a) return 'whole';
  if (a >= n) return 'unsatisfiable';
  const end = b === undefined || b >= n ? n - 1n : b;
  return { start: Number(a), end: Number(end) };
}

function actual(header: string | undefined, size: number): Outcome {
  const range = parseRange(header);
  if (range === undefined) return 'whole';
  try {
    return resolveRange(range, size);
  } catch (err: unknown) {
    if (isS3Error(err, 'InvalidRange')) return 'unsatisfiable';
    throw err;
  }
}

const digits = fc.oneof(
  fc.nat({ max: 2000 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String),
  fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n }).map(String),
  fc.string({ unit: fc.constantFrom('0', '1', '9'), maxLength: 18 }),
  fc.constant(''),
);
const space = fc.string({ unit: fc.constantFrom(' ', '\t', '\u00a0', '\n', '\v'), maxLength: 2 });
const oneRange = fc
  .tuple(space, digits, space, fc.constantFrom('-', '', '--', '+'), space, digits, space)
  .map((p) => p.join(''));
const header = fc.oneof(
  fc
    .tuple(
      space,
      fc.constantFrom('bytes', 'BYTES', 'Bytes', 'bits', 'byte', ''),
      space,
      fc.constantFrom('=', '', ':', '=='),
      fc.array(oneRange, { minLength: 1, maxLength: 3 }),
      fc.constantFrom(',', ', ', ';'),
    )
    .map(([s1, unit, s2, eq, ranges, sep]) => `${s1}${unit}${s2}${eq}${ranges.join(sep)}`),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...'bytes=-0123456789, \t'), maxLength: 30 }),
);
const size = fc.oneof(fc.nat({ max: 3000 }), fc.constant(0), fc.nat({ max: Number.MAX_SAFE_INTEGER }));

describe('Range (property, against an RFC 9110 model)', () => {
  it('agrees with the model on random and mutated headers', () => {
    fc.assert(
      fc.property(fc.option(header, { nil: undefined }), size, (h, n) => {
        expect(actual(h, n)).toEqual(model(h, n));
      }),
      { numRuns: RUNS },
    );
  });

  it('a served range always lies inside the object', () => {
    fc.assert(
      fc.property(header, size, (h, n) => {
        const out = actual(h, n);
        if (typeof out === 'object') {
          expect(Number.isSafeInteger(out.start) && Number.isSafeInteger(out.end)).toBe(true);
          expect(0 <= out.start && out.start <= out.end && out.end < n).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['bytes=9999999999999999-9999999999999998', 'whole'],
    ['bytes=9007199254740993-9007199254740992', 'whole'],
    ['bytes=-9007199254740993', 'whole'],
    ['bytes=\u00a00-1', 'whole'],
    ['bytes=0-1\n', 'whole'],
    ['bytes=0-1,2-3', 'whole'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=0-', { start: 0, end: 9 }],
    ['bytes = 2 - 4', { start: 2, end: 4 }],
  ])('%j on a 10-byte object → %j', (h, want) => {
    expect(actual(h, 10)).toEqual(want);
  });
});
