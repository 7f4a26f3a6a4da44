// decodeMetadata on random and mutated x-amz-meta-s3seal-* maps: a valid map decodes, anything
// else is a CoreError S3SEAL_METADATA_INVALID, never a raw TypeError or RangeError.
// S3SEAL_FUZZ_RUNS raises the run count (make fuzz).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isCoreError } from '../errors.js';
import { makeKeyring } from '../test-support/objects.js';
import { sealEnvelope } from './envelope.js';
import { decodeMetadata, encodeMetadata, META } from './metadata.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);
const keyring = makeKeyring();
const single = sealEnvelope(keyring, {
  objectKey: 'k',
  chunkSize: 65536,
  layout: 'single',
  plaintextSize: 1234,
}).metadata;
const multipart = sealEnvelope(keyring, { objectKey: 'k', chunkSize: 1024, layout: 'multipart' }).metadata;

function outcome(map: Record<string, string>): string {
  try {
    const info = decodeMetadata(map);
    // What decodes, re-encodes to the same fields (one canonical spelling per value).
    expect(encodeMetadata(info)).toEqual(
      Object.fromEntries(Object.entries(map).filter(([n]) => n.startsWith('s3seal-'))),
    );
    return 'ok';
  } catch (err: unknown) {
    if (isCoreError(err)) return err.code;
    throw err;
  }
}

const names = fc.constantFrom(
  ...Object.values(META),
  's3seal-x',
  'S3SEAL-V',
  '__proto__',
  'constructor',
  'toString',
  'other',
);
const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '1',
    '0',
    '-1',
    '1e3',
    '65536',
    '9007199254740993',
    'single',
    'multipart',
    'key',
    'none',
    'kwp',
    'default:v1',
    ':',
    '',
    'AES256-GCM',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

describe('s3seal metadata (property)', () => {
  it('valid maps decode', () => {
    expect(outcome(single)).toBe('ok');
    expect(outcome(multipart)).toBe('ok');
  });

  it('random maps: decoded or S3SEAL_METADATA_INVALID, never another throw', () => {
    fc.assert(
      fc.property(fc.dictionary(names, value, { maxKeys: 12 }), (map) => {
        expect(['ok', 'S3SEAL_METADATA_INVALID']).toContain(outcome(map));
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid map with fields changed, dropped or added', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(single, multipart),
        fc.array(fc.tuple(names, fc.option(value, { nil: undefined })), { minLength: 1, maxLength: 3 }),
        (base, edits) => {
          const map: Record<string, string> = { ...base };
          for (const [name, v] of edits) {
            if (v === undefined) delete map[name];
            else map[name] = v;
          }
          expect(['ok', 'S3SEAL_METADATA_INVALID']).toContain(outcome(map));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('maps with an inherited or odd prototype', () => {
    const bare = Object.assign(Object.create(null) as Record<string, string>, single);
    expect(outcome(bare)).toBe('ok');
    expect(outcome(JSON.parse('{"__proto__": {"s3seal-v": "1"}}') as Record<string, string>)).toBe(
      'S3SEAL_METADATA_INVALID',
    );
    expect(outcome({ ...single, [META.version]: undefined as unknown as string })).toBe(
      'S3SEAL_METADATA_INVALID',
    );
    // Non-text values (maps read back from JSON): refused, never a raw TypeError from Buffer.from.
    for (const odd of [65536, null, {}, [], true]) {
      for (const name of Object.values(META)) {
        expect(outcome({ ...single, [name]: odd as unknown as string })).toBe('S3SEAL_METADATA_INVALID');
      }
    }
  });
});
