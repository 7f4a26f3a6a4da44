// Signed S3 requests on a bare node:http(s) connection, for what an SDK hides: a body sent a
// byte at a time, a request held open, the exact status and XML of an answer.
import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import aws4 from 'aws4';

export interface RawTarget {
  /** http(s)://host:port */
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** CA to trust for an https url. */
  readonly ca?: string;
}

export interface RawRequestOptions {
  readonly method: string;
  /** Path and query, e.g. `/bucket/key?partNumber=1`. */
  readonly path: string;
  readonly headers?: Record<string, string>;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Opens a SigV4-signed request (UNSIGNED-PAYLOAD: the body is the caller's to write, at any pace)
 * and returns it with its headers sent. `agent: false`: a connection of its own.
 */
export function openSigned(target: RawTarget, options: RawRequestOptions): ClientRequest {
  const url = new URL(target.url);
  const signed = aws4.sign(
    {
      host: url.host,
      path: options.path,
      method: options.method,
      service: 's3',
      region: 'us-east-1',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...options.headers },
    },
    { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  );
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request({
    host: url.hostname,
    port: url.port,
    method: options.method,
    path: options.path,
    headers: signed.headers as Record<string, string>,
    agent: false,
    ...(target.ca === undefined ? {} : { ca: target.ca }),
  });
  req.flushHeaders();
  return req;
}

/** The answer to a request, body read whole; rejects when the connection fails first. */
export function responseOf(req: ClientRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }),
      );
    });
  });
}

/** One signed request with an optional whole body. */
export async function sendSigned(
  target: RawTarget,
  options: RawRequestOptions & { readonly body?: Buffer },
): Promise<RawResponse> {
  const req = openSigned(target, {
    ...options,
    headers: { 'content-length': String(options.body?.length ?? 0), ...options.headers },
  });
  const response = responseOf(req);
  req.end(options.body);
  return response;
}

/** `<Code>` of an S3 XML error body. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}
