/**
 * A rate-limited work queue of string keys (`namespace/name`), after client-go's workqueue as
 * controller-runtime uses it: informer handlers only add keys, workers reconcile them.
 *
 * - A queued key is queued once however often it is added (the dirty set).
 * - A key being processed is not handed to a second worker; if it is added meanwhile, it runs
 *   again once the first run finishes, so no change is lost and none is processed twice at once.
 * - A failed key is retried after a per-key exponential backoff, reset when it succeeds.
 * - `addAfter` schedules a requeue (the next key rotation); per key only the earliest timer is
 *   kept, so a later, longer request cannot postpone a retry that is already due sooner. A
 *   timer is not cancelled when the key is processed earlier for another reason (as in
 *   client-go): at worst one extra reconcile, which level-based reconciles make harmless.
 */
import { pino, type Logger } from 'pino';

import { describeApiError } from './api-errors.js';
import { backoffDelayMs } from './backoff.js';

/** What a reconcile returns: nothing, or when to look at the key again even if nothing changes. */
export type ReconcileResult = { requeueAfterMs?: number } | undefined | void;

/**
 * Reconciles one key. Throwing requeues the key with backoff. `signal` aborts when the queue
 * shuts down, so a long reconcile can stop early; shutdown() waits for it either way.
 */
export type KeyHandler = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  /**
   * First retry delay after a failure (default 500 ms). controller-runtime starts at 5 ms, but
   * our failures are apiserver or upstream errors that a few milliseconds do not cure.
   */
  baseDelayMs?: number;
  /** Retry delay cap (default 5 min). */
  maxDelayMs?: number;
  /** Fraction of each retry delay removed at random (default 0.2). */
  jitter?: number;
  /** For tests: returns [0, 1). */
  random?: () => number;
  logger?: Logger;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Workers blocked in next(), woken when a key arrives or the queue shuts down. */
  private waiters: Array<(key: string | undefined) => void> = [];
  private workers: Array<Promise<void>> = [];
  private readonly abort = new AbortController();
  private shuttingDown = false;
  private readonly options: Required<Omit<WorkQueueOptions, 'logger'>>;
  private readonly logger: Logger;

  constructor(options: WorkQueueOptions = {}) {
    this.options = {
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
      jitter: options.jitter ?? 0.2,
      random: options.random ?? Math.random,
    };
    this.logger = options.logger ?? pino({ enabled: false });
  }

  /** Keys waiting for a worker (not counting those being processed). */
  get length(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    // Re-queued by done() once the running reconcile of this key finishes.
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.queue.push(key);
    else {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    }
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { at, timer });
  }

  /** Requeues after this key's next backoff delay, and counts the failure. */
  addRateLimited(key: string): void {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    this.addAfter(key, backoffDelayMs(attempt, this.backoffOptions()));
  }

  /** Clears the key's failure count: its next failure starts again from the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures since the key last succeeded. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Starts `concurrency` workers that run `handler` for each key. */
  start(concurrency: number, handler: KeyHandler): void {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    if (this.workers.length > 0) throw new Error('WorkQueue.start called twice');
    if (this.shuttingDown) throw new Error('WorkQueue.start after shutdown');
    for (let i = 0; i < concurrency; i++) this.workers.push(this.work(handler));
  }

  /**
   * Stops handing out keys, drops queued keys and timers, aborts the handlers' signal and waits
   * for the reconciles in flight to return.
   */
  async shutdown(): Promise<void> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.timers.values()) clearTimeout(timer);
      this.timers.clear();
      this.queue.length = 0;
      this.dirty.clear();
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake(undefined);
      this.abort.abort();
    }
    await Promise.all(this.workers);
  }

  private async work(handler: KeyHandler): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      try {
        const result = await handler(key, this.abort.signal);
        this.forget(key);
        const requeueAfterMs = result?.requeueAfterMs;
        if (requeueAfterMs !== undefined) this.addAfter(key, requeueAfterMs);
      } catch (err: unknown) {
        // The reconcile loop is one of the two places that catch everything (STYLE.md §10):
        // any failure becomes a retry with backoff, and the worker lives on.
        this.logger.warn(
          { key, attempt: this.numRequeues(key) + 1, err: describeApiError(err) },
          'reconcile failed; requeued with backoff',
        );
        this.addRateLimited(key);
      } finally {
        this.done(key);
      }
    }
  }

  /** The next key, marked as processing; undefined once the queue shuts down. */
  private next(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      // Added while it ran: take it out of dirty and add it properly, so it reaches a waiter.
      this.dirty.delete(key);
      this.add(key);
    }
  }

  private backoffOptions(): { baseMs: number; maxMs: number; jitter: number; random: () => number } {
    const { baseDelayMs, maxDelayMs, jitter, random } = this.options;
    return { baseMs: baseDelayMs, maxMs: maxDelayMs, jitter, random };
  }
}
