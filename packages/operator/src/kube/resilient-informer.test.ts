import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ErrorCallback, Informer, ObjectCache, ObjectCallback, V1Secret } from '@kubernetes/client-node';

import {
  type InformerEventType,
  ResilientInformer,
  type ResilientInformerOptions,
} from './resilient-informer.js';

type ObjectVerb = 'add' | 'update' | 'delete';

/**
 * Stands in for client-node's ListWatch at the factory boundary. Its start() runs `onStart`,
 * which plays the list (emit adds) and may fail the way ListWatch does: emit 'error' and resolve.
 */
class FakeInformer implements Informer<V1Secret>, ObjectCache<V1Secret> {
  readonly objects = new Map<string, V1Secret>();
  readonly objectCallbacks = new Map<ObjectVerb, Array<ObjectCallback<V1Secret>>>();
  readonly statusCallbacks = new Map<'error' | 'connect', Array<(err?: unknown) => void>>();
  isStopped = false;

  constructor(private readonly onStart: (informer: FakeInformer) => Promise<void>) {}

  on(verb: ObjectVerb | 'change', cb: ObjectCallback<V1Secret>): void;
  on(verb: 'error' | 'connect', cb: ErrorCallback): void;
  on(verb: ObjectVerb | 'change' | 'error' | 'connect', cb: ObjectCallback<V1Secret> | ErrorCallback): void {
    if (verb === 'error' || verb === 'connect') {
      this.statusCallbacks.set(verb, [...(this.statusCallbacks.get(verb) ?? []), cb as ErrorCallback]);
    } else if (verb === 'change') {
      throw new Error('not used');
    } else {
      this.objectCallbacks.set(verb, [
        ...(this.objectCallbacks.get(verb) ?? []),
        cb as ObjectCallback<V1Secret>,
      ]);
    }
  }

  off(): void {
    throw new Error('not used');
  }

  async start(): Promise<void> {
    this.connect();
    await this.onStart(this);
  }

  stop(): Promise<void> {
    this.isStopped = true;
    return Promise.resolve();
  }

  get(name: string, namespace?: string): V1Secret | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  list(): V1Secret[] {
    return [...this.objects.values()];
  }

  /** Like ListWatch: add to the cache, then call 'add' (new) or 'update' (changed version). */
  upsert(obj: V1Secret): void {
    const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    const known = this.objects.has(key);
    this.objects.set(key, obj);
    this.emit(known ? 'update' : 'add', obj);
  }

  remove(obj: V1Secret): void {
    this.objects.delete(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
    this.emit('delete', obj);
  }

  fail(err: unknown): void {
    for (const cb of this.statusCallbacks.get('error') ?? []) cb(err);
  }

  connect(): void {
    for (const cb of this.statusCallbacks.get('connect') ?? []) cb();
  }

  emit(verb: ObjectVerb, obj: V1Secret): void {
    for (const cb of this.objectCallbacks.get(verb) ?? []) cb(obj);
  }
}

function secret(name: string, resourceVersion: string): V1Secret {
  return { metadata: { namespace: 'ns', name, resourceVersion } };
}

const listing =
  (...items: V1Secret[]) =>
  async (informer: FakeInformer): Promise<void> => {
    // The list is a request: the objects arrive after a turn of the event loop.
    await Promise.resolve();
    for (const item of items) informer.upsert(item);
  };

const failingList = async (informer: FakeInformer): Promise<void> => {
  await Promise.resolve();
  // ListWatch catches the list error, emits 'error' and returns: start() still resolves.
  informer.fail(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
};

describe('ResilientInformer', () => {
  let informers: FakeInformer[];
  let startTimes: number[];
  let events: Array<[InformerEventType, string, string | undefined]>;
  let script: Array<(informer: FakeInformer) => Promise<void>>;
  let resilient: ResilientInformer<V1Secret> | undefined;
  let t0: number;

  beforeEach(() => {
    jest.useFakeTimers();
    informers = [];
    startTimes = [];
    events = [];
    script = [];
    t0 = Date.now();
  });

  afterEach(async () => {
    await resilient?.stop();
    resilient = undefined;
    jest.useRealTimers();
  });

  /** Each restart takes the next entry of `script`; the last entry repeats. */
  function make(options: Partial<ResilientInformerOptions<V1Secret>> = {}): ResilientInformer<V1Secret> {
    resilient = new ResilientInformer<V1Secret>({
      factory: () => {
        const onStart = script[Math.min(informers.length, script.length - 1)] ?? listing();
        const informer = new FakeInformer(onStart);
        informers.push(informer);
        startTimes.push(Date.now() - t0);
        return informer;
      },
      handler: (type, obj) => events.push([type, obj.metadata?.name ?? '', obj.metadata?.resourceVersion]),
      random: () => 0,
      resyncPeriodMs: 0,
      ...options,
    });
    return resilient;
  }

  it('reports the initial list as adds and then syncs', async () => {
    script = [listing(secret('a', '1'), secret('b', '1'))];
    const informer = make();
    expect(informer.hasSynced()).toBe(false);
    const synced = informer.waitForSync();
    informer.start();
    await expect(synced).resolves.toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(events).toEqual([
      ['add', 'a', '1'],
      ['add', 'b', '1'],
    ]);
    expect(informer.list().map((s) => s.metadata?.name)).toEqual(['a', 'b']);
    expect(informer.get('a', 'ns')?.metadata?.resourceVersion).toBe('1');
    expect(informer.list('other')).toEqual([]);
  });

  it('restarts after an error with exponential backoff', async () => {
    script = [failingList];
    const informer = make({ restartBaseDelayMs: 1000, restartMaxDelayMs: 8000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(30_000);
    // Delays 1 s, 2 s, 4 s, then capped at 8 s.
    expect(startTimes).toEqual([0, 1000, 3000, 7000, 15_000, 23_000]);
    expect(informers.slice(0, -1).every((i) => i.isStopped)).toBe(true);
    expect(informer.hasSynced()).toBe(false);
  });

  it('restarts when the watch fails after syncing, and resets the backoff once it stayed up', async () => {
    script = [failingList, failingList, listing(secret('a', '1'))];
    const informer = make({ restartBaseDelayMs: 1000, stableAfterMs: 10_000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(3000);
    expect(startTimes).toEqual([0, 1000, 3000]);
    expect(informer.hasSynced()).toBe(true);

    // Up for 20 s (longer than stableAfterMs), then the watch breaks: back to the base delay.
    await jest.advanceTimersByTimeAsync(20_000);
    informers[2]?.fail(new Error('socket hang up'));
    await jest.advanceTimersByTimeAsync(1000);
    expect(startTimes).toEqual([0, 1000, 3000, 24_000]);
  });

  it('keeps backing off when an informer fails before it was stable', async () => {
    script = [listing(secret('a', '1'))];
    const informer = make({ restartBaseDelayMs: 1000, stableAfterMs: 10_000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    informers[0]?.fail(new Error('reset'));
    await jest.advanceTimersByTimeAsync(1000);
    informers[1]?.fail(new Error('reset'));
    await jest.advanceTimersByTimeAsync(2000);
    informers[2]?.fail(new Error('reset'));
    await jest.advanceTimersByTimeAsync(4000);
    expect(startTimes).toEqual([0, 1000, 3000, 7000]);
  });

  it('after a restart reports changed objects as updates and vanished ones as deletes', async () => {
    script = [
      listing(secret('a', '1'), secret('b', '1'), secret('c', '1')),
      listing(secret('a', '1'), secret('b', '2')),
    ];
    const informer = make({ restartBaseDelayMs: 1000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    events.length = 0;
    informers[0]?.fail(new Error('watch failed'));
    await jest.advanceTimersByTimeAsync(1000);
    // 'a' unchanged: no event. 'b' changed: update. 'c' deleted while no one watched: delete.
    expect(events).toEqual([
      ['update', 'b', '2'],
      ['delete', 'c', '1'],
    ]);
    expect(informer.list().map((s) => s.metadata?.name)).toEqual(['a', 'b']);
  });

  it('passes watch events through and ignores those of a replaced informer', async () => {
    script = [listing(secret('a', '1')), listing(secret('a', '2'))];
    const informer = make({ restartBaseDelayMs: 1000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    const first = informers[0];
    first?.upsert(secret('a', '2'));
    first?.upsert(secret('n', '1'));
    first?.remove(secret('n', '1'));
    first?.fail(new Error('watch failed'));
    await jest.advanceTimersByTimeAsync(1000);
    first?.upsert(secret('ghost', '1'));
    expect(events).toEqual([
      ['add', 'a', '1'],
      ['update', 'a', '2'],
      ['add', 'n', '1'],
      ['delete', 'n', '1'],
    ]);
    expect(informers).toHaveLength(2);
    expect(informer.get('ghost', 'ns')).toBeUndefined();
  });

  it('re-emits every cached object as resync each period', async () => {
    script = [listing(secret('a', '1'), secret('b', '1'))];
    const informer = make({ resyncPeriodMs: 60_000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(0);
    events.length = 0;
    await jest.advanceTimersByTimeAsync(59_000);
    expect(events).toEqual([]);
    await jest.advanceTimersByTimeAsync(2000);
    expect(events).toEqual([
      ['resync', 'a', '1'],
      ['resync', 'b', '1'],
    ]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(events).toHaveLength(4);
  });

  it('does not resync before the first sync', async () => {
    script = [failingList];
    const informer = make({ resyncPeriodMs: 1000, restartBaseDelayMs: 60_000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(5000);
    expect(events).toEqual([]);
  });

  it('restarts a silent informer (watchdog)', async () => {
    script = [listing(secret('a', '1'))];
    const informer = make({ watchdogMs: 60_000, restartBaseDelayMs: 1000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(50_000);
    // Activity (a reconnect) keeps the watchdog quiet.
    informers[0]?.connect();
    await jest.advanceTimersByTimeAsync(50_000);
    expect(informers).toHaveLength(1);
    // Then 60 s with nothing: restarted within a quarter of the limit, plus the backoff.
    await jest.advanceTimersByTimeAsync(30_000);
    expect(informers).toHaveLength(2);
    expect(informers[0]?.isStopped).toBe(true);
  });

  it('handles an informer whose start() rejects', async () => {
    script = [() => Promise.reject(new Error('No currently active cluster')), listing(secret('a', '1'))];
    const informer = make({ restartBaseDelayMs: 1000 });
    informer.start();
    await jest.advanceTimersByTimeAsync(1000);
    expect(informer.hasSynced()).toBe(true);
    expect(startTimes).toEqual([0, 1000]);
  });

  it('stops: no more restarts, and a pending waitForSync resolves false', async () => {
    script = [failingList];
    const informer = make({ restartBaseDelayMs: 1000 });
    informer.start();
    const synced = informer.waitForSync();
    await jest.advanceTimersByTimeAsync(500);
    await informer.stop();
    await expect(synced).resolves.toBe(false);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(informers).toHaveLength(1);
    await expect(informer.waitForSync()).resolves.toBe(false);
  });

  it('waitForSync resolves false when its signal aborts', async () => {
    script = [failingList];
    const informer = make();
    informer.start();
    const controller = new AbortController();
    const synced = informer.waitForSync(controller.signal);
    controller.abort();
    await expect(synced).resolves.toBe(false);
  });

  it('survives a handler that throws', async () => {
    script = [listing(secret('a', '1'), secret('b', '1'))];
    resilient = new ResilientInformer<V1Secret>({
      factory: () => {
        const informer = new FakeInformer(script[0] ?? listing());
        informers.push(informer);
        return informer;
      },
      handler: (type, obj) => {
        if (obj.metadata?.name === 'a') throw new Error('handler bug');
        events.push([type, obj.metadata?.name ?? '', obj.metadata?.resourceVersion]);
      },
    });
    resilient.start();
    await expect(resilient.waitForSync()).resolves.toBe(true);
    expect(events).toEqual([['add', 'b', '1']]);
  });
});
