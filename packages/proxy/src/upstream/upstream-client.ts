import type { Readable } from 'node:stream';
import aws4 from 'aws4';
import { Agent, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import { S3Error } from '../s3/errors.js';
import { encodeKeyPath, encodeQuery } from './uri-encode.js';

export interface UpstreamCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface UpstreamOptions {
  readonly endpoint: URL;
  readonly region: string;
  /** `https://host/bucket/key` (true) or `https://bucket.host/key` (false). */
  readonly pathStyle: boolean;
  readonly credentials: () => UpstreamCredentials;
  readonly connections?: number;
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
}

export interface UpstreamRequest {
  readonly method: string;
  readonly bucket?: string | undefined;
  readonly key?: string | undefined;
  readonly query?: readonly (readonly [string, string])[];
  readonly headers?: Readonly<Record<string, string>>;
  /** A Buffer is hashed into the signature; a stream is sent as UNSIGNED-PAYLOAD. */
  readonly body?: Buffer | Readable | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type UpstreamResponse = Dispatcher.ResponseData;

/**
 * The only code that talks to the backend: builds the URL, signs with aws4 using the
 * upstream credentials, sends with an undici keep-alive pool. Network failures become a 503
 * S3 error, so a client sees "upstream unavailable" rather than a reset.
 */
export class UpstreamClient {
  private readonly agent: Agent;
  private readonly options: UpstreamOptions;
  private readonly origin: string;

  constructor(options: UpstreamOptions) {
    this.options = options;
    this.origin = options.endpoint.origin;
    this.agent = new Agent({
      connections: options.connections ?? 128,
      keepAliveTimeout: 30_000,
      headersTimeout: options.headersTimeoutMs ?? 300_000,
      bodyTimeout: options.bodyTimeoutMs ?? 300_000,
    });
  }

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const { host, path } = this.locate(req);
    const headers: Record<string, string> = { ...req.headers };
    const isStream = req.body !== undefined && !Buffer.isBuffer(req.body);
    if (isStream) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const signed = aws4.sign(
      {
        host,
        path,
        method: req.method,
        headers,
        service: 's3',
        region: this.options.region,
        body: Buffer.isBuffer(req.body) ? req.body : undefined,
      },
      this.options.credentials(),
    );
    const origin = this.options.pathStyle ? this.origin : `${this.options.endpoint.protocol}//${host}`;
    try {
      return await this.agent.request({
        origin,
        path,
        method: req.method,
        headers: signed.headers as Record<string, string>,
        body: req.body ?? null,
        signal: req.signal,
      });
    } catch (err: unknown) {
      throw toUpstreamError(err);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private locate(req: UpstreamRequest): { host: string; path: string } {
    const base = this.options.endpoint;
    const prefix = base.pathname.replace(/\/+$/, '');
    const keyPath = req.key === undefined ? '' : `/${encodeKeyPath(req.key)}`;
    const query = req.query && req.query.length > 0 ? `?${encodeQuery(req.query)}` : '';
    if (req.bucket === undefined) return { host: base.host, path: `${prefix}/${query}` };
    if (this.options.pathStyle) {
      return { host: base.host, path: `${prefix}/${encodeURIComponent(req.bucket)}${keyPath || ''}${query}` };
    }
    return { host: `${req.bucket}.${base.host}`, path: `${prefix}${keyPath || '/'}${query}` };
  }
}

function toUpstreamError(err: unknown): unknown {
  if (err instanceof S3Error) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (err instanceof undiciErrors.RequestAbortedError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.SocketError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|EPIPE)$/.test(code)
  ) {
    return new S3Error(
      'UpstreamUnavailable',
      `the upstream S3 service could not be reached (${code || (err as Error).name})`,
      {
        cause: err,
      },
    );
  }
  return err;
}
