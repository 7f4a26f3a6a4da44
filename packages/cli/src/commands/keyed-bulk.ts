import type { S3Client } from '@aws-sdk/client-s3';
import type { KeySources } from '@s3seal/core';
import { runOverPrefix } from '../bulk/run-over-prefix.js';
import type { BulkOptions, BulkRun } from '../bulk/run-over-prefix.js';
import type { BulkSummary } from '../bulk/summary.js';
import { loadBackendConfig, loadKeySources } from '../config.js';
import type { BackendArgs } from '../config.js';
import { createBackendClient } from '../s3/backend-client.js';
import { readStoredObject } from '../s3/stored-object.js';
import type { SealedObject } from '../s3/stored-object.js';
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

/**
 * Runs `task` on every sealed object under the prefix; legacy (plaintext) objects are counted
 * as `legacy` and left alone, as every command that opens objects does.
 */
export function overSealedObjects<S extends string>(
  client: S3Client,
  location: S3Location,
  options: BulkOptions,
  task: (object: SealedObject) => Promise<{ status: S; detail?: string }>,
): Promise<BulkRun<S | 'legacy'>> {
  return runOverPrefix<S | 'legacy'>(client, location, options, async ({ key }) => {
    const object = await readStoredObject(client, location.bucket, key);
    if (object.kind === 'legacy') return { status: 'legacy' };
    return task(object);
  });
}
