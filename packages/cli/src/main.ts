#!/usr/bin/env node
// Placeholder entry point: commands arrive with the operations issue.
import { FORMAT_VERSION } from '@s3seal/core';

process.stderr.write(`s3seal (object format v${FORMAT_VERSION}): not implemented yet\n`);
process.exitCode = 2;
