/**
 * Exponential backoff with jitter, shared by the work queue, the informer restarts and the
 * leader elector so each retries the same way.
 */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /**
   * Fraction of the delay taken off at random, 0 to 1. Many operator replicas or keys that
   * failed together (an apiserver restart) then retry spread out instead of in one burst
   * (the reconnect storms of kubernetes-client/javascript#1933).
   */
  jitter: number;
  /** Returns a number in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry): `baseMs * 2^attempt`,
 * capped at `maxMs`, then reduced by up to `jitter` of itself. It never exceeds `maxMs`.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  // 2 ** 1024 is Infinity; the cap keeps the result finite for any attempt count.
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 64));
  return Math.round(exponential * (1 - options.jitter * random()));
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects), so loops can sleep and
 * still stop promptly. Uses the global setTimeout so jest's fake timers control it.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
