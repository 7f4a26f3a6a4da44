import type { S3Client } from '@aws-sdk/client-s3';
import type { KeySources } from '@s3seal/core';
import type { BulkOptions } from '../bulk/run-over-prefix.js';
import type { BulkSummary } from '../bulk/summary.js';
import { loadBackendConfig, loadKeySources } from '../config.js';
import type { BackendArgs } from '../config.js';
import { createBackendClient } from '../s3/backend-client.js';
import { parseS3Url } from '../s3/s3-url.js';
import type { S3Location } from '../s3/s3-url.js';
import { reportSummary, stderrProgress } from './output.js';
import type { BulkArgs } from './output.js';

/**
 * The handler the bulk commands that open objects share (verify, rewrap, reencrypt): the key
 * sources (a keyring, or a proxy configuration's), a backend client, progress on stderr, the
 * summary and exit code; everything let go of afterwards.
 */
export async function runKeyedBulk(
  args: BackendArgs & BulkArgs & { url: string },
  label: string,
  run: (
    client: S3Client,
    sources: KeySources,
    location: S3Location,
    options: BulkOptions,
  ) => Promise<BulkSummary>,
): Promise<void> {
  const location = parseS3Url(args.url, { isKeyRequired: false });
  const keys = await loadKeySources(args);
  const client = createBackendClient(loadBackendConfig(args));
  try {
    const summary = await run(client, keys.sources, location, {
      concurrency: args.concurrency,
      progress: stderrProgress(label),
    });
    reportSummary(summary, location.bucket, args.json);
  } finally {
    client.destroy();
    await keys.close();
  }
}
