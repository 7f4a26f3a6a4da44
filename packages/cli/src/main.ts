#!/usr/bin/env node
// s3seal: the command-line tool. Each command lives in commands/ and stays thin.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { devCommand } from './commands/dev.js';
import { k8sDemoCommand } from './commands/k8s-demo.js';
import { keygenCommand } from './commands/keygen.js';

await yargs(hideBin(process.argv))
  .scriptName('s3seal')
  .command(devCommand)
  .command(keygenCommand)
  .command(k8sDemoCommand)
  .demandCommand(1, 'name a command; see --help')
  .strict()
  .help()
  .fail((message, err) => {
    process.stderr.write(`s3seal: ${err?.message ?? message}\n`);
    process.exit(2);
  })
  .parseAsync();
