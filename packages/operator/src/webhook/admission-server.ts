import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';

import type { Logger } from 'pino';

import {
  type AdmissionHandler,
  type AdmissionOutcome,
  type AdmissionRequest,
  AdmissionReviewError,
  admissionReviewResponse,
  parseAdmissionReview,
} from './admission-review.js';
import type { CertifiedKey } from './certificates.js';

export interface AdmissionServerOptions {
  handler: AdmissionHandler;
  log: Logger;
  /** Path of the AdmissionReview endpoint; default `/mutate-pods`. */
  path?: string;
  /** The first serving pair; without it TLS handshakes fail until `setCertificate`. */
  certificate?: CertifiedKey;
  /** Default 3 MiB: kube-apiserver refuses larger request bodies itself, so a review never needs more. */
  maxBodyBytes?: number;
  /** Time to receive a whole request, headers and body; default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Time the handler may take before the request is denied; default 8 s, under the apiserver's
   * default webhook timeout (10 s), so the client sees our message, not a bare deadline error.
   */
  handlerTimeoutMs?: number;
}

export const DEFAULT_ADMISSION_PATH = '/mutate-pods';
const MIB = 1024 * 1024;
// The TLS floor kube-apiserver's own webhook client negotiates above anyway; refuse anything older.
const TLS_OPTIONS: SecureContextOptions = { minVersion: 'TLSv1.2' };

/**
 * HTTPS endpoint for `admission.k8s.io/v1` AdmissionReviews: decodes, calls the handler, encodes.
 * Every failure inside the handler becomes a denial (fail closed), never an allowed pod that
 * missed its sidecar.
 */
export class AdmissionServer {
  readonly server: Server;
  private readonly handler: AdmissionHandler;
  private readonly log: Logger;
  private readonly path: string;
  private readonly maxBodyBytes: number;
  private readonly handlerTimeoutMs: number;

  constructor(options: AdmissionServerOptions) {
    this.handler = options.handler;
    this.log = options.log;
    this.path = options.path ?? DEFAULT_ADMISSION_PATH;
    this.maxBodyBytes = options.maxBodyBytes ?? 3 * MIB;
    this.handlerTimeoutMs = options.handlerTimeoutMs ?? 8_000;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.server = createServer({
      ...TLS_OPTIONS,
      ...(options.certificate === undefined
        ? {}
        : { cert: options.certificate.certPem, key: options.certificate.keyPem }),
      requestTimeout: requestTimeoutMs,
      // Node requires headersTimeout <= requestTimeout.
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: unknown) => {
        this.log.error({ err, url: req.url }, 'admission server failed to answer a request');
        if (!res.headersSent) sendText(res, 500, 'internal error');
        else res.destroy();
      });
    });
    // Handshake failures (a scanner, a client with an old CA bundle) are the peer's problem; log
    // them quietly instead of letting them look like server errors.
    this.server.on('tlsClientError', (err: Error) => {
      this.log.debug({ err }, 'TLS handshake with a client failed');
    });
  }

  /** Resolves once listening; port 0 picks a free port. */
  async listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /**
   * Serves `pair` from the next handshake on; open connections keep the pair they started with.
   * Throws (and keeps the old pair) when the key does not match the certificate.
   */
  setCertificate(pair: CertifiedKey): void {
    this.server.setSecureContext({ ...TLS_OPTIONS, cert: pair.certPem, key: pair.keyPem });
  }

  /** Stops accepting connections, closes idle keep-alive ones and waits for in-flight requests. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve, reject) => {
      this.server.close((err) => (err === undefined ? resolve() : reject(err)));
    });
    // The apiserver keeps connections alive between calls; without this, close() waits for them.
    this.server.closeIdleConnections();
    await closed;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The apiserver appends `?timeout=<n>s` to the webhook URL, so match on the path alone.
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendText(res, 405, 'method not allowed', 'GET, HEAD');
      return sendText(res, 200, 'ok');
    }
    if (pathname !== this.path) return sendText(res, 404, 'not found');
    if (req.method !== 'POST') return sendText(res, 405, 'method not allowed', 'POST');
    const contentType = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
    if (contentType !== 'application/json')
      return sendText(res, 415, 'expected Content-Type: application/json');

    const body = await readCapped(req, this.maxBodyBytes);
    if (body === undefined) return sendText(res, 413, `request body over ${this.maxBodyBytes} bytes`);
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(JSON.parse(body.toString('utf8')));
    } catch (err: unknown) {
      if (err instanceof SyntaxError || err instanceof AdmissionReviewError) {
        this.log.warn({ err: err.message }, 'rejected a malformed AdmissionReview');
        return sendText(res, 400, `bad AdmissionReview: ${err.message}`);
      }
      throw err;
    }

    const startedAt = performance.now();
    const outcome = await this.decide(request);
    const review = admissionReviewResponse(request.uid, outcome);
    this.log.debug(
      {
        uid: request.uid,
        operation: request.operation,
        kind: request.kind.kind,
        namespace: request.namespace,
        name: request.name,
        allowed: outcome.allowed,
        patchOperations: outcome.allowed ? (outcome.patch?.length ?? 0) : undefined,
        durationMs: Math.round(performance.now() - startedAt),
      },
      'admission review answered',
    );
    const json = JSON.stringify(review);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(json),
    });
    res.end(json);
  }

  /** The handler's outcome, or a denial with code 500 when it throws or runs out of time. */
  private async decide(request: AdmissionRequest): Promise<AdmissionOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.handlerTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.handler(request), timedOut]);
      if (outcome !== 'timeout') return outcome;
      this.log.error({ uid: request.uid, timeoutMs: this.handlerTimeoutMs }, 'admission handler timed out');
      return internalError(request.uid, `timed out after ${this.handlerTimeoutMs} ms`);
    } catch (err: unknown) {
      // The log gets the cause; the client gets the uid to find it, not our internals.
      this.log.error({ err, uid: request.uid }, 'admission handler failed');
      return internalError(request.uid, 'internal error');
    } finally {
      clearTimeout(timer);
    }
  }
}

function internalError(uid: string, what: string): AdmissionOutcome {
  return {
    allowed: false,
    status: {
      code: 500,
      reason: 'InternalError',
      message: `s3seal webhook: ${what} while handling admission request ${uid}; the operator log has the details`,
    },
  };
}

/** The whole body, or undefined as soon as it grows past `maxBytes` (declared or actual). */
function readCapped(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) return Promise.resolve(undefined);
  // Events rather than `for await`: leaving that loop early destroys the request, and with it the
  // socket the 413 has to go out on.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void =>
      onError(new Error('client closed the connection before the body was complete'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function sendText(res: ServerResponse, status: number, message: string, allow?: string): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(allow === undefined ? {} : { allow }),
    // A refused request may leave an unread body on the socket; close it rather than drain it.
    ...(status >= 400 ? { connection: 'close' } : {}),
  });
  res.end(body);
}
