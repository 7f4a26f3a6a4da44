import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Keyring } from '@s3seal/core';
import { watchDirectories } from '../fs/directory-watch.js';
import type { DirectoryWatch } from '../fs/directory-watch.js';

/**
 * Reads a keyring directory laid out like a mounted Kubernetes Secret. Entries are read
 * through their links (`v1 -> ..data/v1`); dot entries and directories are skipped.
 */
export async function readKeyringDirectory(dir: string, keyringId: string): Promise<Keyring> {
  const entries = new Map<string, string>();
  for (const name of await readdir(dir)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    entries.set(name, await readFile(path, 'utf8'));
  }
  return Keyring.fromEntries(keyringId, entries);
}

export interface KeyringWatchOptions {
  readonly keyringId: string;
  /** Re-read this often even without a change event (fs events can be missed). */
  readonly pollIntervalMs?: number;
  readonly onReload?: (keyring: Keyring) => void;
  /** A reload that fails keeps the previous keyring; this says why. */
  readonly onError?: (err: unknown) => void;
}

/**
 * A keyring that follows its directory. Kubernetes updates a mounted Secret by writing a new
 * timestamped directory and swapping the `..data` link, so a change shows up as events on the
 * directory itself; a slow poll backs the events up. Readers always get a complete keyring:
 * a half-written or invalid directory keeps the last good one.
 */
export class WatchedKeyring {
  private keyring: Keyring;
  private readonly watch: DirectoryWatch;
  private reloading: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    initial: Keyring,
    private readonly options: KeyringWatchOptions,
  ) {
    this.keyring = initial;
    this.watch = watchDirectories([dir], () => void this.reload(), {
      pollIntervalMs: options.pollIntervalMs,
      onError: options.onError,
    });
  }

  static async open(dir: string, options: KeyringWatchOptions): Promise<WatchedKeyring> {
    return new WatchedKeyring(dir, await readKeyringDirectory(dir, options.keyringId), options);
  }

  current(): Keyring {
    return this.keyring;
  }

  /** Re-reads the directory now; resolves once done (used by tests and on SIGHUP). */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      try {
        const next = await readKeyringDirectory(this.dir, this.options.keyringId);
        if (!sameKeyring(next, this.keyring)) {
          this.keyring = next;
          this.options.onReload?.(next);
        }
      } catch (err: unknown) {
        this.options.onError?.(err);
      }
    });
    return this.reloading;
  }

  close(): void {
    this.watch.close();
  }
}

function sameKeyring(a: Keyring, b: Keyring): boolean {
  if (a.id !== b.id || a.activeVersion !== b.activeVersion) return false;
  const versions = a.versions();
  if (versions.join() !== b.versions().join()) return false;
  return versions.every((v) => {
    const ref = { keyringId: a.id, version: v };
    return a.get(ref).equals(b.get(ref));
  });
}
