#!/usr/bin/env node
// s3seal: the command-line tool. Each command lives in commands/ and stays thin.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { devCommand } from './commands/dev.js';
import { encryptLegacyCommand } from './commands/encrypt-legacy.js';
import { inspectCommand } from './commands/inspect.js';
import { k8sDemoCommand } from './commands/k8s-demo.js';
import { keygenCommand } from './commands/keygen.js';
import { reencryptCommand } from './commands/reencrypt.js';
import { rewrapCommand } from './commands/rewrap.js';
import { verifyCommand } from './commands/verify.js';
import { isCoreError } from '@s3seal/core';
import { CliError } from './errors.js';

await yargs(hideBin(process.argv))
  .scriptName('s3seal')
  .command(devCommand)
  .command(keygenCommand)
  .command(inspectCommand)
  .command(verifyCommand)
  .command(rewrapCommand)
  .command(reencryptCommand)
  .command(encryptLegacyCommand)
  .command(k8sDemoCommand)
  .demandCommand(1, 'name a command; see --help')
  .strict()
  .help()
  .fail((message, err) => {
    process.stderr.write(`s3seal: ${err?.message ?? message}\n`);
    // 2: the command line or configuration is wrong (yargs' own checks pass no error); 1: the command failed.
    const isUsage =
      err === undefined ||
      (err instanceof CliError && err.code === 'S3SEAL_CLI_USAGE') ||
      isCoreError(err, 'S3SEAL_KEYRING_INVALID');
    process.exit(isUsage ? 2 : 1);
  })
  .parseAsync();
