import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: this file is packages/testkit/{src,dist}/paths.{ts,js}, so three levels up
 * whether it runs from source (jest) or compiled (the CLI).
 */
export function repoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/** Where per-run directories (logs, data, certificates) of started servers go. */
export function rigRunRoot(): string {
  return path.join(repoRoot(), '.cache', 'rig');
}

/**
 * `$S3SEAL_CACHE_DIR/bin`, which scripts/test-deps.sh fills; the default matches that script.
 * A relative S3SEAL_CACHE_DIR (the Makefile suggests `.cache`) is taken from the repository root.
 */
export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheDir =
    env.S3SEAL_CACHE_DIR || path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 's3seal');
  return path.resolve(repoRoot(), cacheDir, 'bin');
}
