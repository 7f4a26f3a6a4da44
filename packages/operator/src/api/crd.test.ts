import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

import { CRD_FILE, encryptionPolicyCrd, renderCrdYaml } from './crd.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const crdPath = path.join(repoRoot, CRD_FILE);

describe('the CRD in crds/', () => {
  it('is the one generated from the schema (make crds rewrites it)', () => {
    if (process.env.S3SEAL_WRITE_CRDS === '1') writeFileSync(crdPath, renderCrdYaml());
    const committed: unknown = parse(readFileSync(crdPath, 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(encryptionPolicyCrd())));
  });

  it('is structural: no additionalProperties beside properties anywhere', () => {
    const offenders: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${at}[${i}]`));
      else if (node !== null && typeof node === 'object') {
        const record = node as Record<string, unknown>;
        if ('properties' in record && 'additionalProperties' in record) offenders.push(at);
        for (const [key, value] of Object.entries(record)) walk(value, `${at}.${key}`);
      }
    };
    walk(encryptionPolicyCrd(), '$');
    expect(offenders).toEqual([]);
  });
});
