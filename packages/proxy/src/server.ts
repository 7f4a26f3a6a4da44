import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { verifyRequest } from './auth/index.js';
import type { CredentialStore, RawRequest } from './auth/index.js';
import type { Handler, ProxyServices, RequestContext } from './context.js';
import { MeteredResponse } from './observability/metered-response.js';
import { RequestObserver } from './observability/request-observer.js';
import type { RequestLimits } from './limits/request-limits.js';
import { handleAbortMultipartUpload } from './ops/abort-multipart-upload.js';
import { handleCompleteMultipartUpload } from './ops/complete-multipart-upload.js';
import { handleCopyObject } from './ops/copy-object.js';
import { handleCreateMultipartUpload } from './ops/create-multipart-upload.js';
import { forwardUnencrypted, handleForward } from './ops/forward.js';
import { handleGetObject, handleHeadObject } from './ops/get-object.js';
import { handleListObjects } from './ops/list-objects.js';
import { handleListParts } from './ops/list-parts.js';
import { handlePutObject } from './ops/put-object.js';
import { handleRefuse } from './ops/refuse.js';
import { handleUploadPart } from './ops/upload-part.js';
import { handleUploadPartCopy } from './ops/upload-part-copy.js';
import { refineCopy, routeRequest } from './router.js';
import type { S3Action } from './router.js';
import { S3Error } from './s3/errors.js';
import { sendS3Error, toS3Error } from './s3/error-response.js';
import { parseRequestTarget } from './s3/request-target.js';

/** Which handler serves each action in an encrypted bucket. */
const HANDLERS: Record<S3Action, Handler> = {
  ListBuckets: handleForward,
  ListObjects: handleListObjects,
  ListObjectsV2: handleListObjects,
  ListObjectVersions: handleListObjects,
  GetObject: handleGetObject,
  HeadObject: handleHeadObject,
  PutObject: handlePutObject,
  CopyObject: handleCopyObject,
  DeleteObject: handleForward,
  DeleteObjects: handleForward,
  // Refused with NotImplemented when multipart is off (S3SEAL_MULTIPART, S3SEAL_VALKEY_URL).
  CreateMultipartUpload: handleCreateMultipartUpload,
  UploadPart: handleUploadPart,
  UploadPartCopy: handleUploadPartCopy,
  CompleteMultipartUpload: handleCompleteMultipartUpload,
  AbortMultipartUpload: handleAbortMultipartUpload,
  ListParts: handleListParts,
  ListMultipartUploads: handleForward,
  SelectObjectContent: handleRefuse,
  GetObjectAttributes: handleRefuse,
  GetObjectTorrent: handleRefuse,
  PostObject: handleRefuse,
  ForwardBucket: handleForward,
  ForwardObject: handleForward,
};

/** Headers that ask the backend to encrypt with a client key (SSE-C): the proxy refuses them. */
const SSE_C_HEADERS = [
  'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-copy-source-server-side-encryption-customer-algorithm',
];

/** At most one SlowDown summary line this often. */
const THROTTLE_LOG_INTERVAL_MS = 5_000;

export interface ProxyServerOptions {
  readonly credentials: CredentialStore;
  readonly now?: () => Date;
  /** Serve HTTPS with this pair (proxy.ts swaps it on renewal with setSecureContext); else HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string } | undefined;
  /** Admission (max in flight) and slow-client timeouts; none when absent. */
  readonly limits?: RequestLimits | undefined;
  /** Node's maxHeaderSize: a larger request head gets 431 from Node and a closed connection. */
  readonly maxHeaderBytes?: number | undefined;
  /** Time for a client to send its whole request head (Node answers 408 and closes). */
  readonly headersTimeoutMs?: number | undefined;
}

/**
 * The HTTP server: each request is parsed, verified, routed to one handler, and any error
 * becomes S3's XML in one place. Nothing reaches the backend before the signature verified.
 */
export function createProxyServer(services: ProxyServices, options: ProxyServerOptions): Server {
  const now = options.now ?? ((): Date => new Date());
  const headersTimeout = options.headersTimeoutMs ?? 60_000;
  const serverOptions: ServerOptions = {
    // The whole-request limit is limits/request-limits.ts's, which answers S3's RequestTimeout.
    requestTimeout: 0,
    headersTimeout,
    // Node checks headersTimeout only this often (default 30 s).
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(headersTimeout / 4))),
    keepAliveTimeout: 65_000,
    maxHeaderSize: options.maxHeaderBytes ?? 16_384,
    // Counts the body bytes sent to each client (observability/metered-response.ts).
    ServerResponse: MeteredResponse,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, onRequest)
    : createServer(serverOptions, onRequest);

  // Refused requests are summed into one warning per interval, not logged one by one: they come
  // in floods, exactly when the proxy has no time to spare.
  let throttledSinceLog = 0;
  let throttleLoggedAt = 0;
  const noteThrottled = (requestId: string): void => {
    services.metrics?.throttled.inc();
    throttledSinceLog += 1;
    const at = Date.now();
    if (at - throttleLoggedAt < THROTTLE_LOG_INTERVAL_MS) return;
    services.log.warn(
      { refused: throttledSinceLog, lastRequestId: requestId, code: 'SlowDown' },
      `${throttledSinceLog} request(s) refused with 503 SlowDown: at the in-flight limit (maxInflight ${services.config.maxInflight})`,
    );
    throttledSinceLog = 0;
    throttleLoggedAt = at;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    if (options.limits?.admit(req, res, requestId) === false) {
      noteThrottled(requestId);
      return;
    }
    const observer = new RequestObserver(services, req, res, requestId);
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let action: S3Action | 'Unknown' = 'Unknown';
    let bucket: string | undefined;
    let resource = req.url ?? '/';
    let isVerified = false;
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const raw: RawRequest = {
        method: req.method ?? 'GET',
        rawPath: q < 0 ? url : url.slice(0, q),
        rawQuery: q < 0 ? '' : url.slice(q + 1),
        headers: req.headers,
        // SigV4 joins repeated headers with ',' where Node joins them with ', '.
        headersDistinct: req.headersDistinct,
      };
      resource = raw.rawPath;
      const verified = verifyRequest(raw, options.credentials, { now: now() });
      isVerified = true;
      const target = parseRequestTarget(url, req.headers.host, services.config.virtualHostDomains);
      bucket = target.bucket;
      action = refineCopy(routeRequest(raw.method, target), req.headers['x-amz-copy-source'] !== undefined);
      for (const name of SSE_C_HEADERS) {
        if (req.headers[name] !== undefined) {
          throw new S3Error(
            'NotImplemented',
            'SSE-C (customer-provided keys) is not supported through s3seal, which encrypts every object itself',
          );
        }
      }
      const isEncrypted = target.bucket !== undefined && services.isEncryptedBucket(target.bucket);
      const ctx: RequestContext = {
        req,
        res,
        requestId,
        raw,
        verified,
        target,
        action,
        isEncrypted,
        signal: abort.signal,
        meter: observer.meter,
      };
      if (target.bucket !== undefined && !isEncrypted && action !== 'ListBuckets') {
        if (services.config.otherBuckets === 'reject') {
          throw new S3Error(
            'AccessDenied',
            `bucket ${target.bucket} is not among the buckets this proxy encrypts (S3SEAL_BUCKETS)`,
          );
        }
        await observer.run(() => forwardUnencrypted(ctx, services));
      } else {
        const handler = HANDLERS[action];
        await observer.run(() => handler(ctx, services));
      }
    } catch (err: unknown) {
      const s3 = toS3Error(err);
      if (!isVerified) ({ action, bucket } = labelsOfUnverified(req, services));
      observer.fail(s3, err, !isVerified);
      // A client that sent a body we did not read: drain nothing more, close after answering.
      if (!req.readableEnded && !res.headersSent) res.setHeader('connection', 'close');
      sendS3Error(res, s3, requestId, resource, req.method === 'HEAD');
    } finally {
      observer.finish(action, bucket);
    }
  }

  return server;
}

/**
 * The operation and bucket of a request refused before its signature verified, for its
 * metrics and log line only (routing is pure parsing; a request it cannot parse is Unknown).
 */
function labelsOfUnverified(
  req: IncomingMessage,
  services: ProxyServices,
): { action: S3Action | 'Unknown'; bucket: string | undefined } {
  try {
    const target = parseRequestTarget(req.url ?? '/', req.headers.host, services.config.virtualHostDomains);
    const action = refineCopy(
      routeRequest(req.method ?? 'GET', target),
      req.headers['x-amz-copy-source'] !== undefined,
    );
    return { action, bucket: target.bucket };
  } catch (err: unknown) {
    if (err instanceof S3Error) return { action: 'Unknown', bucket: undefined };
    throw err;
  }
}
