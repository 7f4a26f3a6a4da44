import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { type KeyHandler, type ReconcileResult, WorkQueue } from './work-queue.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Wraps synchronous test logic as a handler; a throw becomes a failed reconcile. */
function syncHandler(fn: (key: string) => ReconcileResult): KeyHandler {
  return (key) => Promise.resolve(fn(key));
}

/** Lets workers run their microtasks (handler calls, done bookkeeping) without moving the clock. */
async function settle(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

describe('WorkQueue', () => {
  let queue: WorkQueue;

  beforeEach(() => {
    jest.useFakeTimers();
    // random 0 removes the jitter, so backoff delays are exact.
    queue = new WorkQueue({ random: () => 0 });
  });

  afterEach(async () => {
    await queue.shutdown();
    jest.useRealTimers();
  });

  it('processes a key added several times while queued once', async () => {
    const seen: string[] = [];
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.length).toBe(2);
    queue.start(
      1,
      syncHandler((key) => {
        seen.push(key);
      }),
    );
    await settle();
    expect(seen).toEqual(['ns/a', 'ns/b']);
  });

  it('never runs one key on two workers, and reruns a key re-added while it ran', async () => {
    const gates: Deferred[] = [];
    let running = 0;
    let maxRunning = 0;
    const calls: string[] = [];
    queue.start(4, async (key) => {
      calls.push(key);
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
      running -= 1;
    });
    queue.add('ns/a');
    await settle();
    queue.add('ns/a');
    queue.add('ns/a');
    await settle();
    expect(calls).toEqual(['ns/a']);
    gates[0]?.resolve();
    await settle();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    gates[1]?.resolve();
    await settle();
    expect(calls).toEqual(['ns/a', 'ns/a']);
    expect(maxRunning).toBe(1);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    queue.start(2, async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running -= 1;
    });
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await settle();
    expect(running).toBe(2);
    expect(queue.length).toBe(2);
    gate.resolve();
    await settle();
    expect(maxRunning).toBe(2);
    expect(queue.length).toBe(0);
  });

  it('retries a failing key with exponential backoff and resets it on success', async () => {
    const callTimes: number[] = [];
    let failuresLeft = 3;
    const start = Date.now();
    queue.start(
      1,
      syncHandler(() => {
        callTimes.push(Date.now() - start);
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('upstream unavailable');
        }
      }),
    );
    queue.add('ns/a');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(callTimes).toEqual([0, 500, 1500, 3500]);
    expect(queue.numRequeues('ns/a')).toBe(0);

    failuresLeft = 1;
    queue.add('ns/a');
    await jest.advanceTimersByTimeAsync(10_000);
    // After the success the next failure starts again from the base delay.
    expect(callTimes.slice(4).map((t) => t - (callTimes[4] ?? 0))).toEqual([0, 500]);
  });

  it('caps the backoff at maxDelayMs', async () => {
    await queue.shutdown();
    queue = new WorkQueue({ random: () => 0, baseDelayMs: 1000, maxDelayMs: 3000 });
    const callTimes: number[] = [];
    const start = Date.now();
    queue.start(
      1,
      syncHandler(() => {
        callTimes.push(Date.now() - start);
        throw new Error('always');
      }),
    );
    queue.add('k');
    await jest.advanceTimersByTimeAsync(12_500);
    expect(callTimes).toEqual([0, 1000, 3000, 6000, 9000, 12_000]);
  });

  it('requeues after requeueAfterMs returned by the handler', async () => {
    const callTimes: number[] = [];
    const start = Date.now();
    queue.start(
      1,
      syncHandler(() => {
        callTimes.push(Date.now() - start);
        return callTimes.length < 3 ? { requeueAfterMs: 60_000 } : undefined;
      }),
    );
    queue.add('ns/rotating');
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(callTimes).toEqual([0, 60_000, 120_000]);
  });

  it('keeps only the earliest scheduled requeue per key', async () => {
    const callTimes: number[] = [];
    const start = Date.now();
    queue.start(
      1,
      syncHandler(() => {
        callTimes.push(Date.now() - start);
      }),
    );
    queue.addAfter('a', 1000);
    queue.addAfter('a', 5000);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(callTimes).toEqual([1000]);

    callTimes.length = 0;
    const restart = Date.now() - start;
    queue.addAfter('a', 5000);
    queue.addAfter('a', 2000);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(callTimes.map((t) => t - restart)).toEqual([2000]);
  });

  it('treats addAfter(key, 0) as add', async () => {
    const seen: string[] = [];
    queue.start(
      1,
      syncHandler((key) => {
        seen.push(key);
      }),
    );
    queue.addAfter('now', 0);
    await settle();
    expect(seen).toEqual(['now']);
  });

  it('waits for in-flight handlers on shutdown and aborts their signal', async () => {
    const gate = deferred();
    let signal: AbortSignal | undefined;
    const handler: KeyHandler = async (_key, s) => {
      signal = s;
      await gate.promise;
    };
    queue.start(1, handler);
    queue.add('busy');
    queue.add('queued-behind');
    queue.addAfter('scheduled', 1000);
    await settle();

    let isShutDown = false;
    const shutdown = queue.shutdown().then(() => {
      isShutDown = true;
    });
    await settle();
    expect(signal?.aborted).toBe(true);
    expect(isShutDown).toBe(false);
    gate.resolve();
    await shutdown;
    expect(isShutDown).toBe(true);
    expect(queue.length).toBe(0);
    queue.add('after-shutdown');
    expect(queue.length).toBe(0);
  });

  it('refuses a bad concurrency and a second start', () => {
    expect(() => queue.start(0, () => Promise.resolve(undefined))).toThrow(RangeError);
    queue.start(1, () => Promise.resolve(undefined));
    expect(() => queue.start(1, () => Promise.resolve(undefined))).toThrow('twice');
  });
});
