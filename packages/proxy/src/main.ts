#!/usr/bin/env node
// Placeholder entry point: the proxy itself arrives with the proxy issue.
import { FORMAT_VERSION } from '@s3seal/core';

process.stderr.write(`s3seal-proxy (object format v${FORMAT_VERSION}): not implemented yet\n`);
process.exitCode = 2;
