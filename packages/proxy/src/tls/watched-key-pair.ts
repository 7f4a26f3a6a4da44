import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { watchDirectories } from '../fs/directory-watch.js';
import type { DirectoryWatch } from '../fs/directory-watch.js';

/** A certificate (chain) and its private key, PEM, as `https.createServer` takes them. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface KeyPairFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface KeyPairWatchOptions {
  /** Re-read this often even without a change event. */
  readonly pollIntervalMs?: number;
  /** A new pair that reads and matches: apply it (`server.setSecureContext`). */
  readonly onReload: (pair: KeyPair) => void;
  /** A new pair that is unreadable, invalid or mismatched keeps the previous one; this says why. */
  readonly onError: (err: unknown) => void;
}

/** Reads a pair and checks it the way the TLS stack will use it (parses, key matches cert). */
export async function readKeyPair(files: KeyPairFiles): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  // Throws on a malformed PEM and on a key that is not the certificate's ("key values mismatch").
  createSecureContext({ cert, key });
  return { cert, key };
}

/**
 * The S3 listener's certificate, following its files (a cert-manager or mounted Secret renewal)
 * without a restart. Both files' directories are watched, which catches the `..data` link swap
 * of a mounted Secret (see fs/directory-watch.ts). A bad new pair keeps serving the old one.
 */
export class WatchedKeyPair {
  private pair: KeyPair;
  private readonly watch: DirectoryWatch;
  private reloading: Promise<void> = Promise.resolve();

  private constructor(
    private readonly files: KeyPairFiles,
    initial: KeyPair,
    private readonly options: KeyPairWatchOptions,
  ) {
    this.pair = initial;
    this.watch = watchDirectories(
      [dirname(files.certFile), dirname(files.keyFile)],
      () => void this.reload(),
      { pollIntervalMs: options.pollIntervalMs, onError: options.onError },
    );
  }

  static async open(files: KeyPairFiles, options: KeyPairWatchOptions): Promise<WatchedKeyPair> {
    return new WatchedKeyPair(files, await readKeyPair(files), options);
  }

  current(): KeyPair {
    return this.pair;
  }

  /** Re-reads the files now; resolves once done. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      try {
        const next = await readKeyPair(this.files);
        if (next.cert === this.pair.cert && next.key === this.pair.key) return;
        this.pair = next;
        this.options.onReload(next);
      } catch (err: unknown) {
        this.options.onError(err);
      }
    });
    return this.reloading;
  }

  close(): void {
    this.watch.close();
  }
}
