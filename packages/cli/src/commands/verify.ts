import type { S3Client } from '@aws-sdk/client-s3';
import type { KeySources } from '@s3seal/core';
import type { CommandModule } from 'yargs';
import type { BulkOptions } from '../bulk/run-over-prefix.js';
import { summarize } from '../bulk/summary.js';
import type { BulkSummary } from '../bulk/summary.js';
import { withBackendOptions } from '../config.js';
import type { BackendArgs } from '../config.js';
import { verifyObject } from '../objects/verify-object.js';
import type { S3Location } from '../s3/s3-url.js';
import { BULK_OPTIONS } from './output.js';
import { overSealedObjects, runKeyedBulk } from './keyed-bulk.js';
import type { BulkArgs } from './output.js';

/** Decrypt-checks every object under the prefix; legacy objects are listed, not failed. */
export async function verifyPrefix(
  client: S3Client,
  sources: KeySources,
  location: S3Location,
  options: BulkOptions,
): Promise<BulkSummary> {
  const run = await overSealedObjects(client, location, options, async (object) => {
    await verifyObject(client, sources, object);
    return { status: 'ok' as const };
  });
  return summarize('verify', location, run, {
    statuses: ['ok', 'legacy'],
    listStatuses: ['legacy'],
    isDryRun: false,
  });
}

export const verifyCommand: CommandModule<object, BackendArgs & BulkArgs & { url: string }> = {
  command: 'verify <url>',
  describe:
    'decrypt-check every object under s3://bucket/prefix (every chunk, sizes, MD5 where recorded) without writing anything; exit 1 if any fails',
  builder: (y) =>
    withBackendOptions(y)
      .positional('url', { type: 'string', demandOption: true, describe: 's3://bucket/prefix' })
      .options(BULK_OPTIONS),
  handler: (args) =>
    runKeyedBulk(args, 'verify', (client, sources, location, options) =>
      verifyPrefix(client, sources, location, options),
    ),
};
