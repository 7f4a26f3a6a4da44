import { S3Error, upstreamS3Error } from '../s3/errors.js';
import { parseXml } from '../s3/xml.js';
import type { UpstreamResponse } from './upstream-client.js';

/** Bodies the proxy reads whole (errors, listings, small XML) are capped; object bodies never are read whole. */
export const MAX_XML_RESPONSE_BYTES = 16 * 1024 * 1024;

export async function readCappedBody(body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const part of body) {
    total += part.length;
    if (total > maxBytes)
      throw new S3Error('InternalError', `an upstream response exceeded ${maxBytes} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts, total);
}

/**
 * Turns a non-success upstream answer into the S3 error the client should see (the backend's
 * own code and status), after draining its body so the connection can be reused.
 */
export async function throwUpstreamError(up: UpstreamResponse): Promise<never> {
  const text = (await readCappedBody(up.body, 1024 * 1024)).toString('utf8');
  let code = '';
  let message = '';
  if (text.length > 0) {
    try {
      const doc = parseXml(text) as { Error?: { Code?: string; Message?: string } };
      code = doc.Error?.Code ?? '';
      message = doc.Error?.Message ?? '';
    } catch {
      // Not XML: keep the status, say what it was.
    }
  }
  if (code === '') code = STATUS_CODES[up.statusCode] ?? 'InternalError';
  throw upstreamS3Error(code, up.statusCode, message || `upstream answered ${up.statusCode}`);
}

/** HEAD errors have no body, so S3 clients (and the proxy) infer the code from the status. */
const STATUS_CODES: Record<number, string> = {
  301: 'PermanentRedirect',
  304: 'NotModified',
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  412: 'PreconditionFailed',
  416: 'InvalidRange',
  500: 'InternalError',
  503: 'SlowDown',
};

/**
 * Lets go of a response body that will not be read (any more): the connection is closed
 * rather than drained. An abort error on the way is expected and swallowed.
 */
export function discardBody(body: UpstreamResponse['body']): void {
  if (body.readableEnded || body.destroyed) return;
  body.on('error', () => undefined);
  body.destroy();
}
