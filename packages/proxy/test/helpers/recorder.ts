// A recording relay: a node:http server on a free loopback port that forwards every request
// verbatim (Host header included, so SigV4 signatures stay valid) to a target endpoint and
// remembers what each client sent. Point a client at `url` to see its headers.
import { createServer, request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

export interface RecordedExchange {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Body bytes the client sent (counted; kept only when small, in `body`). */
  bodyBytes: number;
  /** The body, when it is at most KEPT_BODY_BYTES (a CompleteMultipartUpload list, not object data). */
  body?: Buffer | undefined;
  status?: number;
  responseHeaders?: IncomingHttpHeaders;
}

export interface Recorder {
  /** `http://127.0.0.1:<port>`: use it as the client's endpoint. */
  readonly url: string;
  readonly port: number;
  readonly exchanges: RecordedExchange[];
  close(): Promise<void>;
}

/** Request bodies up to this size are kept whole. */
const KEPT_BODY_BYTES = 64 * 1024;

export async function startRecorder(target: string): Promise<Recorder> {
  const upstream = new URL(target);
  const exchanges: RecordedExchange[] = [];
  const server = createServer((req, res) => {
    const exchange: RecordedExchange = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      bodyBytes: 0,
    };
    exchanges.push(exchange);
    const kept: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      exchange.bodyBytes += chunk.length;
      if (exchange.bodyBytes <= KEPT_BODY_BYTES) kept.push(chunk);
    });
    req.on('end', () => {
      if (exchange.bodyBytes <= KEPT_BODY_BYTES) exchange.body = Buffer.concat(kept);
    });
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        exchange.status = up.statusCode;
        exchange.responseHeaders = up.headers;
        res.writeHead(up.statusCode ?? 502, up.headers);
        pipeline(up, res).catch(() => res.destroy());
      },
    );
    out.on('error', () => res.destroy());
    pipeline(req, out).catch(() => out.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The headers that tell how a client sends a body: payload mode, checksums, Content-MD5. */
export function bodyHeaders(exchange: RecordedExchange): Record<string, string> {
  const wanted =
    /^(content-md5|content-length|content-encoding|transfer-encoding|expect|x-amz-content-sha256|x-amz-decoded-content-length|x-amz-trailer|x-amz-checksum-.*|x-amz-sdk-checksum-algorithm|content-type|user-agent)$/;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (wanted.test(name) && value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const auth = exchange.headers.authorization;
  if (auth !== undefined)
    out['authorization'] = auth
      .replace(/Signature=[0-9a-f]+/, 'Signature=…')
      .replace(/Credential=[^/]+/, 'Credential=…');
  return out;
}
