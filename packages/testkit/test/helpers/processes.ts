import { execFileSync } from 'node:child_process';

/** True once `pid` no longer exists (signal 0 checks without signalling). */
export function isProcessGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return true;
    throw err;
  }
}

/** Commands of the live children of this process (the servers the rig started and not yet stopped). */
export function childCommands(): string[] {
  // ps exits 1 when nothing matches.
  try {
    return execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && line !== 'ps');
  } catch (err: unknown) {
    if ((err as { status?: number }).status === 1) return [];
    throw err;
  }
}

/** Starts two servers at once; if either start fails, stops the other before rethrowing. */
export async function startTwo<T extends { stop(): Promise<void> }>(
  start: () => Promise<T>,
): Promise<[T, T]> {
  const results = await Promise.allSettled([start(), start()]);
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r) => r.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(started.map((s) => s.stop()));
    throw failure.reason;
  }
  return [started[0]!, started[1]!];
}
