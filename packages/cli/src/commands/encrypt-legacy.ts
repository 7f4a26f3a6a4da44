import type { S3Client } from '@aws-sdk/client-s3';
import {
  algorithmByName,
  DEFAULT_ALGORITHM,
  DEFAULT_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
} from '@s3seal/core';
import type { Keyring } from '@s3seal/core';
import type { CommandModule } from 'yargs';
import { runOverPrefix } from '../bulk/run-over-prefix.js';
import type { BulkOptions } from '../bulk/run-over-prefix.js';
import { summarize } from '../bulk/summary.js';
import type { BulkSummary } from '../bulk/summary.js';
import { loadBackendConfig, loadKeyring, withBackendOptions } from '../config.js';
import type { BackendArgs } from '../config.js';
import { CliError } from '../errors.js';
import { encryptLegacyObject } from '../objects/encrypt-object.js';
import type { EncryptOptions } from '../objects/encrypt-object.js';
import { createBackendClient } from '../s3/backend-client.js';
import { readStoredObject } from '../s3/stored-object.js';
import { parseS3Url } from '../s3/s3-url.js';
import type { S3Location } from '../s3/s3-url.js';
import { BULK_OPTIONS, reportSummary, stderrProgress } from './output.js';
import type { BulkArgs } from './output.js';

type EncryptStatus = 'encrypted' | 'would-encrypt' | 'sealed';

/** Encrypts every legacy object under the prefix in place; objects already sealed are skipped. */
export async function encryptLegacyPrefix(
  client: S3Client,
  keyring: Keyring,
  location: S3Location,
  options: BulkOptions & EncryptOptions,
): Promise<BulkSummary> {
  const run = await runOverPrefix<EncryptStatus>(client, location, options, async ({ key }) => {
    const object = await readStoredObject(client, location.bucket, key);
    if (object.kind === 'sealed') return { status: 'sealed' };
    return { status: await encryptLegacyObject(client, keyring, object, options) };
  });
  return summarize('encrypt-legacy', location, run, {
    statuses: options.isDryRun ? ['would-encrypt', 'sealed'] : ['encrypted', 'sealed'],
    listStatuses: ['would-encrypt'],
    isDryRun: options.isDryRun,
  });
}

interface EncryptLegacyArgs extends BackendArgs, BulkArgs {
  url: string;
  'dry-run': boolean;
  'chunk-size': number;
  algorithm: string;
  'bind-object-key': boolean;
}

export const encryptLegacyCommand: CommandModule<object, EncryptLegacyArgs> = {
  command: 'encrypt-legacy <url>',
  describe:
    'encrypt the plaintext (legacy) objects under s3://bucket/prefix in place, as the proxy would have written them; exit 1 if any fails',
  builder: (y) =>
    withBackendOptions(y)
      .positional('url', { type: 'string', demandOption: true, describe: 's3://bucket/prefix' })
      .options(BULK_OPTIONS)
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'list what would be encrypted; write nothing',
      })
      .option('chunk-size', {
        type: 'number',
        default: DEFAULT_CHUNK_SIZE,
        describe: 'plaintext bytes per chunk, as the proxy’s S3SEAL_CHUNK_SIZE',
      })
      .option('algorithm', {
        type: 'string',
        choices: ['AES256GCM', 'CHACHA20POLY1305'],
        default: DEFAULT_ALGORITHM,
        describe: 'AEAD, as the proxy’s S3SEAL_ALGORITHM',
      })
      .option('bind-object-key', {
        type: 'boolean',
        default: true,
        describe: 'bind each data key to its object key, as the proxy’s S3SEAL_BIND_OBJECT_KEY',
      }),
  handler: async (args) => {
    const location = parseS3Url(args.url, { isKeyRequired: false });
    const chunkSize = args['chunk-size'];
    if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
      throw new CliError(
        'S3SEAL_CLI_USAGE',
        `--chunk-size must be ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE} bytes`,
      );
    }
    const keyring = (await loadKeyring(args, { isRequired: true }))!;
    const client = createBackendClient(loadBackendConfig(args));
    try {
      const summary = await encryptLegacyPrefix(client, keyring, location, {
        concurrency: args.concurrency,
        progress: stderrProgress('encrypt-legacy'),
        isDryRun: args['dry-run'],
        chunkSizeBytes: chunkSize,
        algorithm: algorithmByName(args.algorithm).name,
        bindObjectKey: args['bind-object-key'],
      });
      reportSummary(summary, location.bucket, args.json);
    } finally {
      client.destroy();
    }
  },
};
