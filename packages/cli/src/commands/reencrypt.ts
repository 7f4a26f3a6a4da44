import type { S3Client } from '@aws-sdk/client-s3';
import type { KeySources } from '@s3seal/core';
import type { CommandModule } from 'yargs';
import type { BulkOptions } from '../bulk/run-over-prefix.js';
import { summarize } from '../bulk/summary.js';
import type { BulkSummary } from '../bulk/summary.js';
import { withBackendOptions } from '../config.js';
import type { BackendArgs } from '../config.js';
import { reencryptObject } from '../objects/reencrypt-object.js';
import type { S3Location } from '../s3/s3-url.js';
import { BULK_OPTIONS } from './output.js';
import { overSealedObjects, runKeyedBulk } from './keyed-bulk.js';
import type { BulkArgs } from './output.js';

/**
 * Re-encrypts every sealed object under the prefix with a new data key. Unlike rewrap it has no
 * "current" state to skip (every object gets a new key), so a stopped run is resumed with
 * a narrower prefix, or simply run again.
 */
export async function reencryptPrefix(
  client: S3Client,
  sources: KeySources,
  location: S3Location,
  options: BulkOptions & { isDryRun: boolean },
): Promise<BulkSummary> {
  const run = await overSealedObjects(client, location, options, async (object) => {
    const result = await reencryptObject(client, sources, object, options);
    return { status: result.status, detail: `${result.from} -> ${result.to}` };
  });
  return summarize('reencrypt', location, run, {
    statuses: options.isDryRun ? ['would-reencrypt', 'legacy'] : ['reencrypted', 'legacy'],
    listStatuses: ['would-reencrypt', 'legacy'],
    isDryRun: options.isDryRun,
  });
}

export const reencryptCommand: CommandModule<
  object,
  BackendArgs & BulkArgs & { url: string; 'dry-run': boolean }
> = {
  command: 'reencrypt <url>',
  describe:
    'encrypt every object under s3://bucket/prefix again under a new data key wrapped by the active KEK (or key source): the recovery after a key was stolen, which rewrap cannot give; exit 1 if any fails',
  builder: (y) =>
    withBackendOptions(y)
      .positional('url', { type: 'string', demandOption: true, describe: 's3://bucket/prefix' })
      .options(BULK_OPTIONS)
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'check every object opens and list what would be re-encrypted; write nothing',
      }),
  handler: (args) =>
    runKeyedBulk(args, 'reencrypt', (client, sources, location, options) =>
      reencryptPrefix(client, sources, location, { ...options, isDryRun: args['dry-run'] }),
    ),
};
