/**
 * Lease-based leader election (coordination.k8s.io/v1), after client-go's
 * tools/leaderelection: candidates race to write their identity into one Lease; the holder
 * renews it every retry period and every other candidate waits until it expires.
 *
 * Safety rests on three rules, as in client-go:
 * - Every write replaces the Lease at the resourceVersion just read, so of two candidates that
 *   both saw an expired lease only one write succeeds; the other gets 409 Conflict and loses.
 * - The leader gives up when it cannot renew within renewDeadline, which is shorter than the
 *   lease duration, so it stops acting before anyone else may take over.
 * - A candidate takes over only when renewTime + leaseDurationSeconds has passed. Unlike
 *   client-go, which times the lease by its own clock from when it last saw the record change,
 *   this compares the holder's renewTime with our clock, so a restarted operator takes over an
 *   abandoned lease at once; it assumes node clocks agree to well under renewDeadline (NTP).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { type CoordinationV1Api, type V1Lease, type V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';

import { describeApiError, isAlreadyExists, isConflict, isNotFound } from './api-errors.js';
import { sleep } from './backoff.js';
import { abortable, timeoutSignal, withSignal } from './request-signal.js';

/** The Lease calls the elector makes; a CoordinationV1Api, or a fake in unit tests. */
export type LeaseApi = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

/** Why leadership ended: the lease could not be renewed or someone else holds it, or we stopped. */
export type StoppedLeadingReason = 'lost' | 'stopped' | 'released';

export interface LeaderCallbacks {
  /**
   * Called on becoming leader; start the controllers here. `signal` aborts when leadership ends.
   * If it returns a promise, release() waits for it (up to renewDeadline) before handing the
   * lease over, so the successor does not overlap with controllers still winding down.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once when leadership ends. On 'lost' the operator must stop acting at once (exit). */
  onStoppedLeading?(reason: StoppedLeadingReason): void;
  /** Called when the observed holder changes, including to ourselves. */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectorOptions {
  namespace: string;
  leaseName: string;
  /** Unique per candidate (default: hostname, which is the pod name, plus a random suffix). */
  identity?: string;
  /** How long a lease stays valid after a renewal (default 15 s, client-go's default). */
  leaseDurationSeconds?: number;
  /** How long the leader keeps retrying a failed renewal before it gives up (default 10 s). */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew (default 2 s). */
  retryPeriodMs?: number;
  callbacks: LeaderCallbacks;
  logger?: Logger;
  /** For tests: returns [0, 1). */
  random?: () => number;
}

/** client-go's JitterFactor: a candidate waits retryPeriod × [1, 2.2) between attempts. */
const ACQUIRE_JITTER_FACTOR = 1.2;

type Attempt =
  { outcome: 'held'; renewedAt: number } | { outcome: 'other'; holder: string } | { outcome: 'failed' };

export class LeaderElector {
  readonly identity: string;
  private readonly api: LeaseApi;
  private readonly namespace: string;
  private readonly leaseName: string;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly callbacks: LeaderCallbacks;
  private readonly logger: Logger;
  private readonly random: () => number;
  private observedLeader = '';
  private leading = false;
  private running: { stop: AbortController; done: Promise<void>; release: boolean } | undefined;

  constructor(api: LeaseApi, options: LeaderElectorOptions) {
    this.api = api;
    this.namespace = options.namespace;
    this.leaseName = options.leaseName;
    this.identity = options.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.callbacks = options.callbacks;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? pino({ enabled: false })).child({
      lease: `${options.namespace}/${options.leaseName}`,
      identity: this.identity,
    });
    // The same checks as client-go's NewLeaderElector: each margin protects one safety rule.
    if (!Number.isInteger(this.leaseDurationSeconds) || this.leaseDurationSeconds < 1) {
      throw new RangeError(
        'leaseDurationSeconds must be a positive integer (the Lease field is whole seconds)',
      );
    }
    if (this.leaseDurationSeconds * 1000 <= this.renewDeadlineMs) {
      throw new RangeError('leaseDurationSeconds must be longer than renewDeadlineMs');
    }
    if (this.renewDeadlineMs <= ACQUIRE_JITTER_FACTOR * this.retryPeriodMs || this.retryPeriodMs <= 0) {
      throw new RangeError(`renewDeadlineMs must exceed ${ACQUIRE_JITTER_FACTOR} × retryPeriodMs > 0`);
    }
    if (this.identity === '') throw new RangeError('identity must not be empty');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder seen last ('' if none or released). */
  getLeader(): string {
    return this.observedLeader;
  }

  /**
   * Campaigns until it wins, then leads and renews until leadership ends (lost, stop() or
   * release()). Resolves then; call run() again to campaign anew.
   */
  run(): Promise<void> {
    if (this.running !== undefined) throw new Error('LeaderElector.run is already running');
    const stop = new AbortController();
    const running = { stop, release: false, done: Promise.resolve() };
    running.done = this.campaign(running).finally(() => {
      this.running = undefined;
    });
    this.running = running;
    return running.done;
  }

  /** Stops campaigning or leading without touching the Lease; a successor waits for it to expire. */
  async stop(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    running.stop.abort();
    await running.done;
  }

  /** Stops, and if leading, hands the Lease back (empty holder) so a successor takes over at once. */
  async release(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    running.release = true;
    await this.stop();
  }

  private async campaign(running: { stop: AbortController; release: boolean }): Promise<void> {
    const stopSignal = running.stop.signal;
    let renewedAt: number | undefined;
    while (renewedAt === undefined) {
      if (stopSignal.aborted) {
        // A create or replace cut short by stop() may still have landed; releaseLease checks
        // the holder, so this hands back a lease we won without knowing and is a no-op otherwise.
        if (running.release) await this.releaseLease();
        return;
      }
      const attempt = await this.attempt(stopSignal, this.renewDeadlineMs);
      if (attempt.outcome === 'held') renewedAt = attempt.renewedAt;
      else await sleep(this.retryPeriodMs * (1 + this.random() * ACQUIRE_JITTER_FACTOR), stopSignal);
    }

    this.leading = true;
    this.logger.info('became leader');
    const leadership = new AbortController();
    const led = Promise.resolve()
      .then(() => this.callbacks.onStartedLeading(leadership.signal))
      .catch((err: unknown) => this.logger.error({ err: describeApiError(err) }, 'onStartedLeading failed'));

    let reason: StoppedLeadingReason = 'lost';
    for (;;) {
      await sleep(this.retryPeriodMs, stopSignal);
      if (stopSignal.aborted) {
        reason = 'stopped';
        break;
      }
      const remainingMs = this.renewDeadlineMs - (Date.now() - renewedAt);
      if (remainingMs <= 0) break;
      const attempt = await this.attempt(stopSignal, remainingMs);
      if (attempt.outcome === 'held') {
        renewedAt = attempt.renewedAt;
        continue;
      }
      if (stopSignal.aborted) {
        reason = 'stopped';
        break;
      }
      // Someone else holds a valid lease: we are certainly not leader any more.
      if (attempt.outcome === 'other') break;
      if (Date.now() - renewedAt >= this.renewDeadlineMs) break;
    }

    this.leading = false;
    leadership.abort();
    if (reason === 'lost') {
      this.logger.warn({ renewDeadlineMs: this.renewDeadlineMs }, 'leadership lost: lease not renewed');
    } else if (running.release) {
      reason = 'released';
      // Give the controllers until renewDeadline to wind down before a successor may start.
      const wound = new AbortController();
      await Promise.race([led, sleep(this.renewDeadlineMs, wound.signal)]);
      wound.abort();
      await this.releaseLease();
    }
    this.logger.info({ reason }, 'stopped leading');
    this.notify(() => this.callbacks.onStoppedLeading?.(reason));
  }

  /** One acquire-or-renew, bounded by `timeoutMs` and by `stopSignal`; never throws. */
  private async attempt(stopSignal: AbortSignal, timeoutMs: number): Promise<Attempt> {
    const timeout = timeoutSignal(timeoutMs);
    const signal = AbortSignal.any([stopSignal, timeout.signal]);
    try {
      return await this.tryAcquireOrRenew(signal);
    } catch (err: unknown) {
      if (!stopSignal.aborted) {
        this.logger.warn({ err: describeApiError(err), leading: this.leading }, 'lease acquire/renew failed');
      }
      return { outcome: 'failed' };
    } finally {
      timeout.clear();
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const options = withSignal(signal);
    const ref = { name: this.leaseName, namespace: this.namespace };
    let lease: V1Lease;
    try {
      lease = await abortable(this.api.readNamespacedLease(ref, options), signal);
    } catch (err: unknown) {
      if (!isNotFound(err)) throw err;
      const now = Date.now();
      const spec: V1LeaseSpec = {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.leaseDurationSeconds,
        acquireTime: new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: 0,
      };
      try {
        await abortable(
          this.api.createNamespacedLease(
            { namespace: this.namespace, body: { metadata: ref, spec } },
            options,
          ),
          signal,
        );
      } catch (createErr: unknown) {
        // Another candidate created it between our read and our create: it won this round.
        if (isAlreadyExists(createErr)) return { outcome: 'failed' };
        throw createErr;
      }
      this.observe(this.identity);
      return { outcome: 'held', renewedAt: now };
    }

    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.observe(holder);
    if (holder !== '' && holder !== this.identity && !isExpired(spec, Date.now())) {
      return { outcome: 'other', holder };
    }
    const now = Date.now();
    const isTakeover = holder !== this.identity;
    const body: V1Lease = {
      ...lease,
      // Keeps metadata.resourceVersion: the replace fails with 409 if anyone wrote since our read.
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.leaseDurationSeconds,
        renewTime: new V1MicroTime(now),
        acquireTime: isTakeover ? new V1MicroTime(now) : spec.acquireTime,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (isTakeover ? 1 : 0),
      },
    };
    try {
      await abortable(this.api.replaceNamespacedLease({ ...ref, body }, options), signal);
    } catch (err: unknown) {
      if (isConflict(err)) return { outcome: 'failed' };
      throw err;
    }
    if (isTakeover)
      this.logger.info({ previous: holder, transitions: body.spec?.leaseTransitions }, 'lease acquired');
    this.observe(this.identity);
    return { outcome: 'held', renewedAt: now };
  }

  /** Empties holderIdentity if we still hold the Lease; logs instead of throwing (shutdown path). */
  private async releaseLease(): Promise<void> {
    const { signal, clear } = timeoutSignal(this.renewDeadlineMs);
    const options = withSignal(signal);
    const ref = { name: this.leaseName, namespace: this.namespace };
    try {
      const lease = await abortable(this.api.readNamespacedLease(ref, options), signal);
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = new V1MicroTime(Date.now());
      // As client-go's release(): no holder and a 1 s duration, so any candidate may take it now.
      const body: V1Lease = {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: now,
          acquireTime: now,
        },
      };
      await abortable(this.api.replaceNamespacedLease({ ...ref, body }, options), signal);
      this.observe('');
      this.logger.info('lease released');
    } catch (err: unknown) {
      // A conflict means someone else wrote it, so it is no longer ours to release; anything else
      // leaves the lease to expire on its own, which is safe, only slower.
      this.logger.warn({ err: describeApiError(err) }, 'lease release failed; it will expire instead');
    } finally {
      clear();
    }
  }

  private observe(holder: string): void {
    if (holder === this.observedLeader) return;
    this.observedLeader = holder;
    if (holder !== '') this.notify(() => this.callbacks.onNewLeader?.(holder));
  }

  /** Runs a user callback; one that throws must not break the election loop. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (err: unknown) {
      this.logger.error({ err: describeApiError(err) }, 'leader election callback threw');
    }
  }
}

/**
 * renewTime + leaseDurationSeconds has passed. client-node declares the times V1MicroTime
 * (a Date) but, having no deserializer for that type, hands back the JSON string; both parse.
 */
export function isExpired(spec: V1LeaseSpec, nowMs: number): boolean {
  const renewedMs = parseTime(spec.renewTime ?? spec.acquireTime);
  if (renewedMs === undefined) return true;
  return renewedMs + (spec.leaseDurationSeconds ?? 0) * 1000 < nowMs;
}

function parseTime(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}
