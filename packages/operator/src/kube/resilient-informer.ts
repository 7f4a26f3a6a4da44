/**
 * A client-node informer that keeps running.
 *
 * client-node's ListWatch (makeInformer) relists on 410 Gone and reconnects after a watch times
 * out or ends, but on any other error (a failed list, a 403 or 500 on the watch, a refused
 * connection) it emits 'error' and stops for good (cache.ts doneHandler). Informers that stop
 * silently are kubernetes-client/javascript#596 and #958; reconnecting in a tight loop is #1933.
 * This wrapper:
 * - restarts a fresh informer after 'error', with exponential backoff and jitter; the backoff
 *   resets once an informer has synced and stayed up for `stableAfterMs`;
 * - restarts when nothing (no event, no reconnect) has been seen for `watchdogMs`;
 * - keeps its own cache across restarts and, when a new informer syncs, reports as 'delete' the
 *   objects that vanished while it was down, so no deletion is missed;
 * - re-emits every cached object as 'resync' every `resyncPeriodMs` (level-based reconciling:
 *   a missed event, or a reconcile that gave up, is picked up at the latest then).
 */
import {
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
  type ObjectCache,
} from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';

import { describeApiError } from './api-errors.js';
import { backoffDelayMs } from './backoff.js';
import { objectKey } from './object-key.js';

export type InformerEventType = 'add' | 'update' | 'delete' | 'resync';

/**
 * Receives every change. Meant to enqueue a key and return (STYLE.md §9); it runs inside
 * client-node's watch callbacks, so it must be quick and must not throw.
 */
export type InformerHandler<T> = (type: InformerEventType, obj: T) => void;

/** Makes a new, unstarted client-node informer; called again for every restart. Must not throw (makeInformer does not). */
export type InformerFactory<T extends KubernetesObject> = () => Informer<T> & ObjectCache<T>;

export interface ResilientInformerOptions<T extends KubernetesObject> {
  factory: InformerFactory<T>;
  handler: InformerHandler<T>;
  /** Names the informer in logs, e.g. `secrets`. */
  name?: string;
  /** How often every cached object is re-emitted as 'resync' (default 5 min; 0 turns it off). */
  resyncPeriodMs?: number;
  /** First restart delay after an error (default 1 s). */
  restartBaseDelayMs?: number;
  /** Restart delay cap (default 30 s). */
  restartMaxDelayMs?: number;
  /** Fraction of each restart delay removed at random (default 0.2). */
  jitter?: number;
  /** An informer that synced and ran this long without error resets the backoff (default 30 s). */
  stableAfterMs?: number;
  /**
   * Restart when neither an object event nor a (re)connect was seen for this long (default
   * 5 min). client-node's Watch aborts a silent watch after 30 s and reconnects, emitting
   * 'connect', so a healthy informer on a quiet resource still shows activity twice a minute.
   */
  watchdogMs?: number;
  logger?: Logger;
  /** For tests: returns [0, 1). */
  random?: () => number;
}

/** One informer instance; a restart replaces it, and events from replaced ones are ignored. */
interface Incarnation<T extends KubernetesObject> {
  informer: Informer<T> & ObjectCache<T>;
  failed: boolean;
  syncedAt: number | undefined;
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private current: Incarnation<T> | undefined;
  private running = false;
  private hasStopped = false;
  private synced = false;
  private failures = 0;
  private lastActivityAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private syncWaiters: Array<(synced: boolean) => void> = [];
  private readonly options: Required<Omit<ResilientInformerOptions<T>, 'logger'>>;
  private readonly logger: Logger;

  constructor(options: ResilientInformerOptions<T>) {
    this.options = {
      factory: options.factory,
      handler: options.handler,
      name: options.name ?? 'informer',
      resyncPeriodMs: options.resyncPeriodMs ?? 5 * 60_000,
      restartBaseDelayMs: options.restartBaseDelayMs ?? 1_000,
      restartMaxDelayMs: options.restartMaxDelayMs ?? 30_000,
      jitter: options.jitter ?? 0.2,
      stableAfterMs: options.stableAfterMs ?? 30_000,
      watchdogMs: options.watchdogMs ?? 5 * 60_000,
      random: options.random ?? Math.random,
    };
    this.logger = (options.logger ?? pino({ enabled: false })).child({ informer: this.options.name });
  }

  /** Starts listing and watching; returns at once (see waitForSync). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.hasStopped = false;
    this.startIncarnation();
    if (this.options.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.options.resyncPeriodMs);
    }
    // Checking at a quarter of the limit bounds how late the watchdog fires to 25 %.
    this.watchdogTimer = setInterval(() => this.checkWatchdog(), Math.max(1, this.options.watchdogMs / 4));
  }

  /** Stops the informer and all timers. A waitForSync still pending resolves false. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.hasStopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.resyncTimer);
    clearInterval(this.watchdogTimer);
    this.restartTimer = this.resyncTimer = this.watchdogTimer = undefined;
    const incarnation = this.current;
    this.current = undefined;
    this.settleSyncWaiters(false);
    if (incarnation !== undefined) await incarnation.informer.stop();
  }

  /** True once the first full list has been delivered; stays true across restarts, as in client-go. */
  hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Resolves true once synced; false if `signal` aborts or the informer stops first. May be
   * called before start(). Start the workers only after it returns true, or reconciles would
   * see an empty cache.
   */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.hasStopped || signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (synced: boolean): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(synced);
      };
      const onAbort = (): void => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(waiter);
    });
  }

  /** The cached objects, all or those of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((obj) => obj.metadata?.namespace === namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace === undefined || namespace === '' ? name : `${namespace}/${name}`);
  }

  private startIncarnation(): void {
    const informer = this.options.factory();
    const incarnation: Incarnation<T> = { informer, failed: false, syncedAt: undefined };
    this.current = incarnation;
    this.lastActivityAt = Date.now();
    const isCurrent = (): boolean => this.current === incarnation;
    for (const type of ['add', 'update', 'delete'] as const) {
      informer.on(type, (obj: T) => {
        if (isCurrent()) this.onObject(type, obj);
      });
    }
    // Emitted before each list-and-watch, including client-node's own reconnects after a watch
    // timeout; not proof that the connection works, but proof the informer is alive.
    informer.on('connect', () => {
      if (isCurrent()) this.lastActivityAt = Date.now();
    });
    // client-node calls this synchronously from inside start() when the list or the first
    // watch request fails, so by the time start() resolves a failure is already recorded.
    informer.on('error', (err?: unknown) => {
      if (isCurrent()) this.onFailure(incarnation, err);
    });
    informer.start().then(
      () => {
        if (isCurrent()) {
          if (!incarnation.failed) this.onSynced(incarnation);
        } else {
          // client-node's stop() during the initial list does not prevent the watch it opens
          // after the list returns (cache.ts doneHandler checks `stopped` only before listing);
          // stopping again aborts that watch.
          void informer.stop();
        }
      },
      (err: unknown) => {
        if (isCurrent()) this.onFailure(incarnation, err);
      },
    );
  }

  private onObject(type: 'add' | 'update' | 'delete', obj: T): void {
    this.lastActivityAt = Date.now();
    const key = objectKey(obj);
    if (type === 'delete') {
      if (this.cache.delete(key)) this.emit('delete', obj);
      return;
    }
    const previous = this.cache.get(key);
    this.cache.set(key, obj);
    // A fresh informer after a restart reports every listed object as 'add'; to the handler,
    // an object it already knows is an update, and an unchanged one is no news.
    if (previous === undefined) this.emit('add', obj);
    else if (previous.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj);
  }

  private onSynced(incarnation: Incarnation<T>): void {
    incarnation.syncedAt = Date.now();
    this.lastActivityAt = incarnation.syncedAt;
    // Objects deleted while no informer was watching produce no event; the new list shows them
    // gone. client-go reports them the same way (DeletedFinalStateUnknown on Replace).
    const listed = new Set(incarnation.informer.list().map((obj) => objectKey(obj)));
    for (const [key, obj] of this.cache) {
      if (!listed.has(key)) {
        this.cache.delete(key);
        this.emit('delete', obj);
      }
    }
    if (!this.synced) {
      this.synced = true;
      this.logger.debug({ objects: this.cache.size }, 'informer synced');
      this.settleSyncWaiters(true);
    }
  }

  private onFailure(incarnation: Incarnation<T>, err: unknown): void {
    if (!this.running || incarnation.failed) return;
    incarnation.failed = true;
    const { syncedAt } = incarnation;
    if (syncedAt !== undefined && Date.now() - syncedAt >= this.options.stableAfterMs) this.failures = 0;
    const delayMs = backoffDelayMs(this.failures, {
      baseMs: this.options.restartBaseDelayMs,
      maxMs: this.options.restartMaxDelayMs,
      jitter: this.options.jitter,
      random: this.options.random,
    });
    this.failures += 1;
    this.logger.warn(
      { err: describeApiError(err), attempt: this.failures, restartInMs: delayMs },
      'informer failed; restarting',
    );
    void incarnation.informer.stop();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running && this.current === incarnation) this.startIncarnation();
    }, delayMs);
  }

  private checkWatchdog(): void {
    const current = this.current;
    if (current === undefined || current.failed) return;
    const idleMs = Date.now() - this.lastActivityAt;
    if (idleMs >= this.options.watchdogMs) {
      this.onFailure(current, new WatchdogTimeoutError(idleMs));
    }
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of [...this.cache.values()]) this.emit('resync', obj);
  }

  private emit(type: InformerEventType, obj: T): void {
    try {
      this.options.handler(type, obj);
    } catch (err: unknown) {
      // A throw here would unwind into client-node's watch callback, which swallows it and
      // skips recording the resourceVersion. Log it loudly instead; the next resync retries.
      this.logger.error({ err: describeApiError(err), type, key: objectKey(obj) }, 'informer handler threw');
    }
  }

  private settleSyncWaiters(synced: boolean): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const waiter of waiters) waiter(synced);
  }
}

/** Reported (to the log) when the watchdog restarts an informer that went silent. */
export class WatchdogTimeoutError extends Error {
  readonly code = 'S3SEAL_INFORMER_SILENT';
  constructor(readonly idleMs: number) {
    super(`no informer activity for ${idleMs} ms`);
    this.name = 'WatchdogTimeoutError';
  }
}

/**
 * A ResilientInformer over client-node's makeInformer, e.g. for Secrets with a label:
 * `createResilientInformer(kc, '/api/v1/secrets', () => core.listSecretForAllNamespaces({ labelSelector }), { labelSelector, handler })`.
 * The list function must apply the same selector as `labelSelector`, which only the watch uses.
 */
export function createResilientInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  path: string,
  listFn: ListPromise<T>,
  options: Omit<ResilientInformerOptions<T>, 'factory'> & { labelSelector?: string },
): ResilientInformer<T> {
  const { labelSelector, ...rest } = options;
  return new ResilientInformer<T>({
    ...rest,
    factory: () => makeInformer<T>(kubeConfig, path, listFn, labelSelector),
  });
}
