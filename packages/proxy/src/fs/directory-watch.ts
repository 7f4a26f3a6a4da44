import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';

export interface DirectoryWatchOptions {
  /** Call `onChange` this often even without an event (fs events can be missed). */
  readonly pollIntervalMs?: number;
  /** A watch the platform refuses or that fails; polling goes on. */
  readonly onError?: (err: unknown) => void;
}

export interface DirectoryWatch {
  close(): void;
}

/**
 * Calls `onChange` after anything in one of `dirs` changes. Kubernetes updates a mounted Secret
 * by writing a new timestamped directory and swapping the `..data` link, so a change shows up
 * as events on the directory itself, not on the file; a slow poll backs the events up, and a
 * burst of events (a Secret update is several renames) becomes one call.
 */
export function watchDirectories(
  dirs: readonly string[],
  onChange: () => void,
  options: DirectoryWatchOptions = {},
): DirectoryWatch {
  let debounce: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(onChange, 50);
    debounce.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(dirs)) {
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (err) => options.onError?.(err));
      watchers.push(watcher);
    } catch (err: unknown) {
      options.onError?.(err);
    }
  }
  const poll = setInterval(schedule, options.pollIntervalMs ?? 30_000);
  poll.unref();
  return {
    close: () => {
      for (const watcher of watchers) watcher.close();
      clearInterval(poll);
      clearTimeout(debounce);
    },
  };
}
