import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { verifyRequest } from './auth/index.js';
import type { CredentialStore, RawRequest } from './auth/index.js';
import type { Handler, ProxyServices, RequestContext } from './context.js';
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

export interface ProxyServerOptions {
  readonly credentials: CredentialStore;
  readonly now?: () => Date;
}

/**
 * The HTTP server: each request is parsed, verified, routed to one handler, and any error
 * becomes S3's XML in one place. Nothing reaches the backend before the signature verified.
 */
export function createProxyServer(services: ProxyServices, options: ProxyServerOptions): Server {
  const now = options.now ?? ((): Date => new Date());
  const server = createServer(
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    (req, res) => {
      void handle(req, res);
    },
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const started = process.hrtime.bigint();
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let action: S3Action | 'Unknown' = 'Unknown';
    let resource = req.url ?? '/';
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
      const target = parseRequestTarget(url, req.headers.host, services.config.virtualHostDomains);
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
      };
      if (target.bucket !== undefined && !isEncrypted && action !== 'ListBuckets') {
        if (services.config.otherBuckets === 'reject') {
          throw new S3Error(
            'AccessDenied',
            `bucket ${target.bucket} is not among the buckets this proxy encrypts (S3SEAL_BUCKETS)`,
          );
        }
        await forwardUnencrypted(ctx, services);
      } else {
        await HANDLERS[action](ctx, services);
      }
    } catch (err: unknown) {
      const s3 = toS3Error(err);
      const log =
        s3.status >= 500 ? services.log.error.bind(services.log) : services.log.info.bind(services.log);
      log(
        { requestId, action, code: s3.code, err: s3.status >= 500 ? (err as Error) : undefined },
        s3.message,
      );
      // A client that sent a body we did not read: drain nothing more, close after answering.
      if (!req.readableEnded && !res.headersSent) res.setHeader('connection', 'close');
      sendS3Error(res, s3, requestId, resource, req.method === 'HEAD');
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      services.log.info(
        { requestId, action, method: req.method, status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        'request',
      );
    }
  }

  return server;
}
