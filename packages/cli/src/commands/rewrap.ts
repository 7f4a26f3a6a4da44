import type { S3Client } from '@aws-sdk/client-s3';
import type { KeySources } from '@s3seal/core';
import type { CommandModule } from 'yargs';
import type { BulkOptions } from '../bulk/run-over-prefix.js';
import { summarize } from '../bulk/summary.js';
import type { BulkSummary } from '../bulk/summary.js';
import { withBackendOptions } from '../config.js';
import type { BackendArgs } from '../config.js';
import { rewrapObject } from '../objects/rewrap-object.js';
import type { S3Location } from '../s3/s3-url.js';
import { BULK_OPTIONS } from './output.js';
import { overSealedObjects, runKeyedBulk } from './keyed-bulk.js';
import type { BulkArgs } from './output.js';

/**
 * Re-wraps every object under the prefix with the active key source. Objects already under it
 * are skipped (`current`), which is what makes a re-run resume where a stopped one ended.
 */
export async function rewrapPrefix(
  client: S3Client,
  sources: KeySources,
  location: S3Location,
  options: BulkOptions & { isDryRun: boolean },
): Promise<BulkSummary> {
  const run = await overSealedObjects(client, location, options, async (object) => {
    const result = await rewrapObject(client, sources, object, options);
    return { status: result.status, detail: `${result.from} -> ${result.to}` };
  });
  return summarize('rewrap', location, run, {
    statuses: options.isDryRun ? ['would-rewrap', 'current', 'legacy'] : ['rewrapped', 'current', 'legacy'],
    listStatuses: ['would-rewrap', 'legacy'],
    isDryRun: options.isDryRun,
  });
}

export const rewrapCommand: CommandModule<
  object,
  BackendArgs & BulkArgs & { url: string; 'dry-run': boolean }
> = {
  command: 'rewrap <url>',
  describe:
    're-wrap the data key of every object under s3://bucket/prefix with the active KEK version (or, with --proxy-config, the active key source: a rotated Transit key, another key manager), server-side, without re-encrypting; exit 1 if any fails',
  builder: (y) =>
    withBackendOptions(y)
      .positional('url', { type: 'string', demandOption: true, describe: 's3://bucket/prefix' })
      .options(BULK_OPTIONS)
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'list what would change; write nothing',
      }),
  handler: (args) =>
    runKeyedBulk(args, 'rewrap', (client, sources, location, options) =>
      rewrapPrefix(client, sources, location, { ...options, isDryRun: args['dry-run'] }),
    ),
};
