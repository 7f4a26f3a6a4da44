#!/usr/bin/env node
// Placeholder entry point: the operator arrives with the operator issue.
import { FORMAT_VERSION } from '@s3seal/core';

process.stderr.write(`s3seal-operator (object format v${FORMAT_VERSION}): not implemented yet\n`);
process.exitCode = 2;
