import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';

import { rigRunRoot } from './paths.js';
import { suiteState } from './suite-state.js';

/**
 * A fresh directory for one server's log and data: `<repo>/.cache/rig/<timestamp>-<pid>-<name>-<random>/`.
 * The random suffix (mkdtemp) keeps two servers of the same name started in the same millisecond apart.
 */
export async function createRunDir(name: string): Promise<string> {
  const root = rigRunRoot();
  await mkdir(root, { recursive: true });
  const timestamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return mkdtemp(path.join(root, `${timestamp}-${process.pid}-${name}-`));
}

/** Logs are kept when a test in the running suite failed, or when asked with S3SEAL_KEEP_LOGS=1. */
export function shouldKeepLogs(): boolean {
  return process.env.S3SEAL_KEEP_LOGS === '1' || suiteState()?.hasFailure === true;
}

/** After a clean stop: delete the run dir, or keep it and say where it is. */
export async function releaseRunDir(runDir: string): Promise<void> {
  if (shouldKeepLogs()) {
    process.stderr.write(`s3seal rig: kept ${runDir}\n`);
    return;
  }
  await removeRunDir(runDir);
}

export async function removeRunDir(runDir: string): Promise<void> {
  await rm(runDir, { recursive: true, force: true });
}
