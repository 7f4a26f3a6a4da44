import type { BulkSummary } from '../bulk/summary.js';
import { hasFailures, renderSummary } from '../bulk/summary.js';
import { createProgress } from '../bulk/progress.js';
import type { Progress } from '../bulk/progress.js';

/** Options shared by the bulk commands (verify, rewrap, encrypt-legacy). */
export interface BulkArgs {
  json: boolean;
  concurrency: number;
}

export const BULK_OPTIONS = {
  json: { type: 'boolean', default: false, describe: 'print the summary as JSON' },
  concurrency: { type: 'number', default: 4, describe: 'objects worked on at once' },
} as const;

/** Progress on stderr, drawn only when stderr is a terminal. */
export function stderrProgress(label: string): Progress {
  return createProgress(label, process.stderr);
}

/** Prints the summary (always, on stdout) and makes the exit code 1 when any object failed. */
export function reportSummary(summary: BulkSummary, bucket: string, isJson: boolean): void {
  process.stdout.write(isJson ? `${JSON.stringify(summary, null, 2)}\n` : renderSummary(summary, bucket));
  if (hasFailures(summary)) process.exitCode = 1;
}
