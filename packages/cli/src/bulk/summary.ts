import type { FailureReason } from '../errors.js';
import { formatS3Url } from '../s3/s3-url.js';
import type { S3Location } from '../s3/s3-url.js';
import { formatBytes } from './format-bytes.js';
import type { BulkRun } from './run-over-prefix.js';

/** The end of every bulk command: counts by outcome, every failure, and the listed outcomes (also the --json output). */
export interface BulkSummary {
  readonly command: string;
  readonly url: string;
  readonly isDryRun: boolean;
  readonly objects: number;
  readonly bytes: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly failed: readonly ({ readonly key: string } & FailureReason)[];
  /** Keys (with a note) per outcome the command lists one by one (e.g. legacy, would-rewrap). */
  readonly listed: Readonly<Record<string, readonly { readonly key: string; readonly detail?: string }[]>>;
}

export function summarize<S extends string>(
  command: string,
  location: S3Location,
  run: BulkRun<S>,
  options: { statuses: readonly S[]; listStatuses: readonly S[]; isDryRun: boolean },
): BulkSummary {
  const counts: Record<string, number> = {};
  for (const status of options.statuses) counts[status] = 0;
  counts['failed'] = 0;
  const listed: Record<string, { key: string; detail?: string }[]> = {};
  for (const status of options.listStatuses) listed[status] = [];
  const failed: ({ key: string } & FailureReason)[] = [];
  for (const outcome of run.outcomes) {
    counts[outcome.status] = (counts[outcome.status] ?? 0) + 1;
    if (outcome.status === 'failed') {
      if ('failure' in outcome) failed.push({ key: outcome.key, ...outcome.failure });
      continue;
    }
    const list = listed[outcome.status];
    if (list && 'detail' in outcome && outcome.detail !== undefined)
      list.push({ key: outcome.key, detail: outcome.detail });
    else if (list) list.push({ key: outcome.key });
  }
  return {
    command,
    url: formatS3Url(location.bucket, location.key),
    isDryRun: options.isDryRun,
    objects: run.objects,
    bytes: run.bytes,
    counts,
    failed,
    listed,
  };
}

export function hasFailures(summary: BulkSummary): boolean {
  return summary.failed.length > 0;
}

/** The summary for people: counts, then each listed outcome and each failure on a line of its own. */
export function renderSummary(summary: BulkSummary, bucket: string): string {
  const lines = [
    `s3seal ${summary.command}${summary.isDryRun ? ' (dry run: nothing written)' : ''} ${summary.url}: ${summary.objects} objects, ${formatBytes(summary.bytes)}`,
  ];
  const width = Math.max(...Object.keys(summary.counts).map((s) => s.length));
  for (const [status, count] of Object.entries(summary.counts))
    lines.push(`  ${status.padEnd(width)}  ${count}`);
  for (const [status, entries] of Object.entries(summary.listed)) {
    if (entries.length === 0) continue;
    lines.push(`${status}:`);
    for (const e of entries)
      lines.push(`  ${formatS3Url(bucket, e.key)}${e.detail !== undefined ? `  ${e.detail}` : ''}`);
  }
  if (summary.failed.length > 0) {
    lines.push('failed:');
    for (const f of summary.failed) lines.push(`  ${formatS3Url(bucket, f.key)}  ${f.code}: ${f.message}`);
  }
  return `${lines.join('\n')}\n`;
}
