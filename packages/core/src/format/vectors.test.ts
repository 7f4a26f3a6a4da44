import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildVector, openVector, VECTOR_INPUTS } from '../test-support/vectors.js';
import type { Vector } from '../test-support/vectors.js';

// The vectors live in docs/FORMAT.md, between these markers, one JSON block per vector.
// `make format-vectors` rewrites them from VECTOR_INPUTS; this test checks the doc as published.
const DOC = fileURLToPath(new URL('../../../../docs/FORMAT.md', import.meta.url));
const BEGIN = '<!-- vectors:begin -->';
const END = '<!-- vectors:end -->';

function publishedVectors(doc: string): Vector[] {
  const section = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END));
  return [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1]!) as Vector);
}

describe('test vectors in docs/FORMAT.md', () => {
  it('are what the implementation computes, and decrypt to their plaintext', async () => {
    const built = await Promise.all(VECTOR_INPUTS.map(buildVector));
    let doc = readFileSync(DOC, 'utf8');
    if (process.env['S3SEAL_WRITE_VECTORS'] === '1') {
      const blocks = built.map((v) => `### ${v.name}\n\n\`\`\`json\n${JSON.stringify(v, null, 2)}\n\`\`\``);
      doc = `${doc.slice(0, doc.indexOf(BEGIN) + BEGIN.length)}\n\n${blocks.join('\n\n')}\n\n${doc.slice(doc.indexOf(END))}`;
      writeFileSync(DOC, doc);
    }
    const published = publishedVectors(doc);
    expect(published.map((v) => v.name)).toEqual(VECTOR_INPUTS.map((v) => v.name));
    expect(published).toEqual(built);
    for (const vector of published) {
      const plaintext = Buffer.concat(vector.parts.map((p) => Buffer.from(p.plaintextHex, 'hex')));
      expect((await openVector(vector)).equals(plaintext)).toBe(true);
    }
  });
});
