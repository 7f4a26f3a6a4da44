import type { IncomingMessage, ServerResponse } from 'node:http';
import { S3Error } from '../s3/errors.js';
import { sendS3Error } from '../s3/error-response.js';

export interface RequestLimitsOptions {
  /** Requests served at once; one more is refused with 503 SlowDown. */
  readonly maxInflight: number;
  /** A client that sends (or, for a response, reads) nothing for this long is cut off. */
  readonly idleTimeoutMs: number;
  /** Longest a request may take in total; 0 = no limit. */
  readonly requestTimeoutMs: number;
  /** Told about each request the limits cut, for the log. */
  readonly onCut?: (requestId: string, err: S3Error) => void;
}

/** One admitted request, with what the idle check saw of its socket at the last progress. */
interface Tracked {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly startedAt: number;
  lastProgressAt: number;
  bytesRead: number;
  bytesWritten: number;
  isCut: boolean;
}

/**
 * Admission and slow-client protection for the S3 listener. At most `maxInflight` requests are
 * served at once; the next is answered 503 SlowDown before its body is read, as S3 does when
 * overloaded (SDKs back off and retry it). One sweep timer checks every request in flight: a
 * client that sent no byte of a body we were ready to read, or read no byte of a response we were
 * waiting to write, for `idleTimeoutMs` is cut with S3's 400 RequestTimeout ("Your socket
 * connection to the server was not read from or written to within the timeout period"), as is
 * any request past `requestTimeoutMs`. A cut body errors the request stream, so the upstream PUT
 * is aborted and nothing partial is committed (ops/sealed-body.ts fails closed).
 */
export class RequestLimits {
  private readonly inflight = new Set<Tracked>();
  private readonly sweep: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private isDraining = false;

  constructor(private readonly options: RequestLimitsOptions) {
    const checkEvery = Math.max(100, Math.min(1000, Math.floor(options.idleTimeoutMs / 4)));
    this.sweep = setInterval(() => this.check(), checkEvery);
    this.sweep.unref();
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Takes a request in, or answers it 503 SlowDown and returns false. */
  admit(req: IncomingMessage, res: ServerResponse, requestId: string): boolean {
    if (this.inflight.size >= this.options.maxInflight) {
      // Its body is never read: close the connection after the answer rather than drain it.
      res.setHeader('connection', 'close');
      sendS3Error(
        res,
        new S3Error('SlowDown', `the proxy serves at most ${this.options.maxInflight} requests at once`),
        requestId,
        pathOf(req),
        req.method === 'HEAD',
      );
      return false;
    }
    const now = Date.now();
    const tracked: Tracked = {
      req,
      res,
      requestId,
      startedAt: now,
      lastProgressAt: now,
      bytesRead: req.socket.bytesRead,
      bytesWritten: req.socket.bytesWritten,
      isCut: false,
    };
    this.inflight.add(tracked);
    res.once('close', () => this.release(tracked));
    // Shutting down: no new request on this connection after this one.
    if (this.isDraining) res.setHeader('connection', 'close');
    return true;
  }

  /** From now on every response closes its connection (graceful shutdown). */
  drain(): void {
    this.isDraining = true;
  }

  /** Resolves once no request is in flight. */
  whenIdle(): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    clearInterval(this.sweep);
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters = [];
  }

  private release(tracked: Tracked): void {
    this.inflight.delete(tracked);
    if (this.inflight.size > 0) return;
    for (const resolve of this.idleWaiters) resolve();
    this.idleWaiters = [];
  }

  private check(): void {
    const now = Date.now();
    const { idleTimeoutMs, requestTimeoutMs } = this.options;
    for (const t of this.inflight) {
      if (t.isCut) continue;
      if (requestTimeoutMs > 0 && now - t.startedAt > requestTimeoutMs) {
        this.cut(
          t,
          `the request took longer than ${requestTimeoutMs / 1000} s (S3SEAL_REQUEST_TIMEOUT_SECONDS)`,
        );
        continue;
      }
      const { req, res } = t;
      const { bytesRead, bytesWritten } = req.socket;
      // Waiting on the client: a body the socket is willing to read (Node stops reading it only
      // when the request buffer is full, i.e. when the proxy is the slow side), or a response the
      // client does not take.
      const isWaitingOnClient =
        (!req.complete && req.readableLength < req.readableHighWaterMark) ||
        (res.headersSent && !res.writableFinished && res.writableNeedDrain);
      if (!isWaitingOnClient || bytesRead !== t.bytesRead || bytesWritten !== t.bytesWritten) {
        t.lastProgressAt = now;
        t.bytesRead = bytesRead;
        t.bytesWritten = bytesWritten;
      } else if (now - t.lastProgressAt >= idleTimeoutMs) {
        this.cut(
          t,
          `the client sent or read nothing for ${idleTimeoutMs / 1000} s (S3SEAL_IDLE_TIMEOUT_SECONDS)`,
        );
      }
    }
  }

  private cut(t: Tracked, detail: string): void {
    t.isCut = true;
    const err = new S3Error('RequestTimeout', detail);
    this.options.onCut?.(t.requestId, err);
    const { req, res } = t;
    if (res.headersSent) {
      // Mid-response: only a broken connection tells the client the transfer is incomplete.
      res.destroy(err);
      return;
    }
    // An error listener, so that a handler not reading the body yet does not crash the process.
    if (req.listenerCount('error') === 0) req.once('error', () => undefined);
    res.setHeader('connection', 'close');
    sendS3Error(res, err, t.requestId, pathOf(req), req.method === 'HEAD');
    // Once the answer is out, the body stream fails with RequestTimeout: the handler's pipeline
    // stops and the upstream request is aborted. A client that does not read the answer either
    // loses the connection a second later.
    const fallback = setTimeout(() => res.destroy(err), 1000);
    fallback.unref();
    res.once('finish', () => {
      clearTimeout(fallback);
      req.destroy(err);
    });
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
