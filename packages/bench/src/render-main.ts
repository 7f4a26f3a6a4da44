#!/usr/bin/env node
// s3seal-bench-render: bench/results.json → docs/BENCHMARKS.md (--quick: the quick-mode files under bench/out/).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './config.js';
import { renderMarkdown } from './render.js';
import type { Results } from './results.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, in: { type: 'string' }, out: { type: 'string' } },
});
const input = path.resolve(
  values.in ?? path.join(REPO_ROOT, values.quick ? 'bench/out/results.quick.json' : 'bench/results.json'),
);
const output = path.resolve(
  values.out ?? path.join(REPO_ROOT, values.quick ? 'bench/out/BENCHMARKS.quick.md' : 'docs/BENCHMARKS.md'),
);
writeFileSync(output, renderMarkdown(JSON.parse(readFileSync(input, 'utf8')) as Results));
process.stderr.write(
  `wrote ${path.relative(process.cwd(), output)} from ${path.relative(process.cwd(), input)}\n`,
);
