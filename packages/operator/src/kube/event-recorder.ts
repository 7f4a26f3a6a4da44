/**
 * Records core/v1 Events about the objects the operator manages (`kubectl describe` shows them).
 *
 * Like client-go's EventCorrelator, simplified: an event identical to one recorded within
 * `dedupWindowMs` (same object, type, reason and message) bumps `count` and `lastTimestamp` on
 * the existing Event instead of creating another, so a reconcile that fails every few seconds
 * leaves one Event with a rising count rather than hundreds of objects in etcd.
 *
 * Recording never throws and never rejects: an Event is a courtesy to the user, and failing to
 * write one (RBAC, apiserver overload, a namespace being deleted) must not fail a reconcile.
 */
import { hostname } from 'node:os';

import { type CoreV1Api, type CoreV1Event, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';

import { describeApiError, isNotFound } from './api-errors.js';
import { abortable, timeoutSignal, withSignal } from './request-signal.js';

/** The Event calls the recorder makes; a CoreV1Api, or a fake in unit tests. */
export type EventApi = Pick<CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about; `namespace` is absent for cluster-scoped objects. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent` (default `s3seal-operator`). */
  component?: string;
  /** `source.host` and `reportingInstance` (default: hostname, which is the pod name). */
  instance?: string;
  /** Identical events within this window are counted on one Event (default 10 min, as client-go's aggregator). */
  dedupWindowMs?: number;
  /** Distinct events remembered for dedup (default 4096, client-go's maxLruCacheEntries). */
  maxCacheEntries?: number;
  /** Per request (default 10 s), so a hung apiserver cannot stall the reconcile awaiting record(). */
  requestTimeoutMs?: number;
  logger?: Logger;
  /** For tests: the clock, in ms since the epoch. */
  now?: () => number;
}

/** Reasons are UpperCamelCase identifiers (`KeyRotated`), as in Kubernetes' own events. */
const REASON_PATTERN = /^[A-Z][A-Za-z0-9]*$/;
/** events.k8s.io/v1 caps `note` at 1 KiB; core/v1 has no cap, but a longer message is noise. */
const MAX_MESSAGE_CHARS = 1024;

interface Recorded {
  eventName: string;
  namespace: string;
  count: number;
  lastSeenMs: number;
}

export class EventRecorder {
  private readonly api: EventApi;
  private readonly component: string;
  private readonly instance: string;
  private readonly dedupWindowMs: number;
  private readonly maxCacheEntries: number;
  private readonly requestTimeoutMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Insertion-ordered, so the first key is the least recently recorded (LRU eviction). */
  private readonly recorded = new Map<string, Recorded>();
  /** The write in flight per dedup key: identical events are written one after another. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(api: EventApi, options: EventRecorderOptions = {}) {
    this.api = api;
    this.component = options.component ?? 's3seal-operator';
    this.instance = options.instance ?? hostname();
    this.dedupWindowMs = options.dedupWindowMs ?? 10 * 60_000;
    this.maxCacheEntries = options.maxCacheEntries ?? 4096;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.logger = options.logger ?? pino({ enabled: false });
    this.now = options.now ?? Date.now;
  }

  /** Records an Event; resolves when written (or given up on), never rejects. */
  record(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    if (!REASON_PATTERN.test(reason)) {
      // A programming error, but not one worth failing a reconcile over.
      this.logger.warn({ reason }, 'event reason is not UpperCamelCase');
    }
    const text =
      message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
    const key = JSON.stringify([
      object.apiVersion,
      object.kind,
      object.namespace ?? '',
      object.name,
      object.uid ?? '',
      type,
      reason,
      text,
    ]);
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const write = previous.then(() => this.write(key, object, type, reason, text));
    this.inFlight.set(key, write);
    void write.finally(() => {
      if (this.inFlight.get(key) === write) this.inFlight.delete(key);
    });
    return write;
  }

  private async write(
    key: string,
    object: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const nowMs = this.now();
    const seen = this.recorded.get(key);
    try {
      if (seen !== undefined && nowMs - seen.lastSeenMs <= this.dedupWindowMs) {
        if (await this.bump(seen, nowMs)) {
          this.remember(key, seen);
          return;
        }
      }
      const created = await this.create(object, type, reason, message, nowMs);
      this.remember(key, created);
    } catch (err: unknown) {
      this.logger.warn(
        {
          err: describeApiError(err),
          kind: object.kind,
          name: object.name,
          namespace: object.namespace,
          reason,
        },
        'could not record event',
      );
    }
  }

  /** Counts one more occurrence on the existing Event; false if that Event is gone (TTL, 1 h by default). */
  private async bump(seen: Recorded, nowMs: number): Promise<boolean> {
    const { signal, clear } = timeoutSignal(this.requestTimeoutMs);
    try {
      await abortable(
        this.api.patchNamespacedEvent(
          {
            name: seen.eventName,
            namespace: seen.namespace,
            body: { count: seen.count + 1, lastTimestamp: new Date(nowMs).toISOString() },
          },
          // client-node sends PATCH bodies as application/json-patch+json unless told otherwise.
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withSignal(signal)),
        ),
        signal,
      );
    } catch (err: unknown) {
      if (isNotFound(err)) return false;
      throw err;
    } finally {
      clear();
    }
    seen.count += 1;
    seen.lastSeenMs = nowMs;
    return true;
  }

  private async create(
    object: InvolvedObject,
    type: EventType,
    reason: string,
    message: string,
    nowMs: number,
  ): Promise<Recorded> {
    // Events of cluster-scoped objects go to `default`, as client-go's recorder does.
    const namespace = object.namespace ?? 'default';
    // client-go names events `<object>.<unix nanoseconds in hex>`; the random low digits keep
    // two events in the same millisecond apart.
    const nanos = BigInt(nowMs) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
    const eventName = `${object.name}.${nanos.toString(16)}`;
    const timestamp = new Date(nowMs);
    const body: CoreV1Event = {
      metadata: { name: eventName, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.name,
        namespace: object.namespace,
        uid: object.uid,
      },
      type,
      reason,
      message,
      source: { component: this.component, host: this.instance },
      reportingComponent: this.component,
      reportingInstance: this.instance,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    const { signal, clear } = timeoutSignal(this.requestTimeoutMs);
    try {
      await abortable(this.api.createNamespacedEvent({ namespace, body }, withSignal(signal)), signal);
    } finally {
      clear();
    }
    return { eventName, namespace, count: 1, lastSeenMs: nowMs };
  }

  private remember(key: string, entry: Recorded): void {
    this.recorded.delete(key);
    this.recorded.set(key, entry);
    if (this.recorded.size > this.maxCacheEntries) {
      const oldest = this.recorded.keys().next();
      if (oldest.done !== true) this.recorded.delete(oldest.value);
    }
  }
}
