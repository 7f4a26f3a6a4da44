// CompleteMultipartUpload bodies, random and mutated: an S3 error (MalformedXML, or the part
// number's InvalidArgument) or the parts as listed, never another throw, in bounded time.
// DeleteObjects bodies are forwarded to the backend unparsed (ops/forward.ts); the proxy's
// answer to those is covered by test/integration/bad-input.test.ts. S3SEAL_FUZZ_RUNS raises
// the run count (make fuzz).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { isS3Error } from '../s3/errors.js';
import { parseCompleteRequest, type RequestedPart } from './completion.js';

const RUNS = Number(process.env['S3SEAL_FUZZ_RUNS'] ?? 200);

function outcome(xml: string): RequestedPart[] | string {
  try {
    return parseCompleteRequest(xml);
  } catch (err: unknown) {
    if (isS3Error(err)) return err.code;
    throw err;
  }
}

function codeOf(xml: string): string | undefined {
  const out = outcome(xml);
  return typeof out === 'string' ? out : undefined;
}

const etag = fc.stringMatching(/^[0-9a-f]{32}$/);
const partList = fc
  .uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 20 })
  .chain((numbers) => fc.tuple(...numbers.map((n) => etag.map((e) => ({ partNumber: n, etag: e })))));

function render(parts: readonly { partNumber: number; etag: string }[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts
    .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>"${p.etag}"</ETag></Part>`)
    .join('')}</CompleteMultipartUpload>`;
}

/** One edit of a document: a character inserted, deleted or replaced, or a slice repeated. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom('<', '>', '/', '&', '"', '<!--', ']]>', '<Part>', '&amp', '\u0000', '\uFFFD', 'x'),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 30 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, edits: readonly Mutation[]): string {
  let out = text;
  for (const edit of edits) {
    const at = edit.at % (out.length + 1);
    if (edit.kind === 'insert') out = out.slice(0, at) + edit.text + out.slice(at);
    else if (edit.kind === 'delete') out = out.slice(0, at) + out.slice(at + edit.length);
    else out = out.slice(0, at) + out.slice(at, at + edit.length) + out.slice(at);
  }
  return out;
}

describe('CompleteMultipartUpload bodies (property)', () => {
  it('a well-formed list parses to exactly its parts', () => {
    fc.assert(
      fc.property(partList, (parts) => {
        expect(outcome(render(parts))).toEqual(parts.map((p) => ({ ...p, checksums: new Map() })));
      }),
      { numRuns: RUNS },
    );
  });

  it('random text: an S3 error, never another throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })),
        (text) => {
          const out = outcome(text);
          expect(typeof out === 'string' ? ['MalformedXML', 'InvalidArgument'] : ['parts']).toContain(
            typeof out === 'string' ? out : 'parts',
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated documents: refused unless still well-formed, never another throw', () => {
    fc.assert(
      fc.property(partList, fc.array(mutation, { minLength: 1, maxLength: 4 }), (parts, edits) => {
        const text = mutate(render(parts), edits);
        const out = outcome(text);
        if (typeof out === 'string') expect(['MalformedXML', 'InvalidArgument']).toContain(out);
        else expect(XMLValidator.validate(text)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('CompleteMultipartUpload bodies: hostile documents', () => {
  const one = '<Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part>';

  it('refuses unclosed and mismatched tags, which the parser alone lets through', () => {
    expect(codeOf(`<CompleteMultipartUpload>${one}`)).toBe('MalformedXML');
    expect(codeOf(`<CompleteMultipartUpload>${one}</Complete>`)).toBe('MalformedXML');
    expect(
      codeOf(`<CompleteMultipartUpload><Part><PartNumber>1</ETag></Part></CompleteMultipartUpload>`),
    ).toBe('MalformedXML');
  });

  it('refuses any DTD: internal entities, billion laughs, external entities', () => {
    const internal = `<!DOCTYPE x [<!ENTITY e "abc">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>`;
    const lol = ['<!ENTITY l0 "lol">'];
    for (let i = 1; i < 10; i++) lol.push(`<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`);
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [${lol.join('')}]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&l9;</ETag></Part></CompleteMultipartUpload>`;
    const external = `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>`;
    for (const doc of [
      internal,
      laughs,
      external,
      `<!doctype x><CompleteMultipartUpload>${one}</CompleteMultipartUpload>`,
    ]) {
      expect(codeOf(doc)).toBe('MalformedXML');
    }
  });

  it('refuses 10 000 levels of nesting', () => {
    const deep = `<CompleteMultipartUpload>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}${one}</CompleteMultipartUpload>`;
    expect(codeOf(deep)).toBe('MalformedXML');
    expect(codeOf(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`)).toBe('MalformedXML');
  });

  it('refuses more than 10 000 parts', () => {
    const parts = Array.from({ length: 10_001 }, (_, i) => ({ partNumber: i + 1, etag: 'e' }));
    expect(codeOf(render(parts))).toBe('MalformedXML');
    // 10 000 is S3's own limit and still parses.
    expect(outcome(render(parts.slice(0, 10_000)))).toHaveLength(10_000);
  });

  it('refuses invalid UTF-8', () => {
    const bytes = Buffer.concat([
      Buffer.from('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>'),
      Buffer.from([0xc0, 0xaf, 0xff]),
      Buffer.from('</ETag></Part></CompleteMultipartUpload>'),
    ]);
    expect(codeOf(bytes.toString('utf8'))).toBe('MalformedXML');
  });

  it('refuses prototype names and parts that are not elements', () => {
    expect(codeOf(`<CompleteMultipartUpload><__proto__>1</__proto__>${one}</CompleteMultipartUpload>`)).toBe(
      'MalformedXML',
    );
    expect(codeOf('<CompleteMultipartUpload><Part>text</Part></CompleteMultipartUpload>')).toBe(
      'MalformedXML',
    );
    expect(codeOf('<CompleteMultipartUpload>text</CompleteMultipartUpload>')).toBe('MalformedXML');
    expect(codeOf('<CompleteMultipartUpload/>')).toBe('MalformedXML');
  });
});
