import type { S3Client } from '@aws-sdk/client-s3';
import { describeFailure } from '../errors.js';
import type { FailureReason } from '../errors.js';
import { listObjects } from '../s3/backend-client.js';
import type { ListedObject } from '../s3/backend-client.js';
import type { S3Location } from '../s3/s3-url.js';
import { mapWithConcurrency } from './concurrency.js';
import type { Progress } from './progress.js';

/** What happened to one object. `detail` is a note for listings (e.g. `default:v1 -> default:v2`). */
export type Outcome<S extends string> =
  | { readonly key: string; readonly sizeBytes: number; readonly status: S; readonly detail?: string }
  | {
      readonly key: string;
      readonly sizeBytes: number;
      readonly status: 'failed';
      readonly failure: FailureReason;
    };

export interface BulkRun<S extends string> {
  readonly outcomes: readonly Outcome<S>[];
  readonly objects: number;
  readonly bytes: number;
}

export interface BulkOptions {
  /** Objects worked on at once. */
  readonly concurrency: number;
  readonly progress: Progress;
}

/**
 * Lists every object under the prefix first (so progress knows the total), then runs `task`
 * on each, `concurrency` at a time. A failing object is recorded with its reason and the run
 * goes on: a bulk command reports every failure rather than stopping at the first. A failing
 * listing fails the run.
 */
export async function runOverPrefix<S extends string>(
  client: S3Client,
  location: S3Location,
  options: BulkOptions,
  task: (object: ListedObject) => Promise<{ status: S; detail?: string }>,
): Promise<BulkRun<S>> {
  const listed: ListedObject[] = [];
  for await (const object of listObjects(client, location.bucket, location.key)) listed.push(object);
  const bytes = listed.reduce((sum, o) => sum + o.sizeBytes, 0);
  options.progress.start(listed.length, bytes);
  try {
    const outcomes = await mapWithConcurrency(listed, options.concurrency, async (object) => {
      let outcome: Outcome<S>;
      try {
        const { status, detail } = await task(object);
        outcome = {
          key: object.key,
          sizeBytes: object.sizeBytes,
          status,
          ...(detail !== undefined ? { detail } : {}),
        };
      } catch (err: unknown) {
        outcome = {
          key: object.key,
          sizeBytes: object.sizeBytes,
          status: 'failed',
          failure: describeFailure(err),
        };
      }
      options.progress.advance(object.sizeBytes);
      return outcome;
    });
    return { outcomes, objects: listed.length, bytes };
  } finally {
    options.progress.finish();
  }
}
