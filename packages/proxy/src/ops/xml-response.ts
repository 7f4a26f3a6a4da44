import type { RequestContext } from '../context.js';
import { buildXml } from '../s3/xml.js';

/** Answers 200 with an XML document (rebuilt from a parsed tree, or built here). */
export function sendXml(
  ctx: RequestContext,
  doc: Record<string, unknown>,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = Buffer.from(buildXml(doc), 'utf8');
  ctx.res.writeHead(200, {
    ...headers,
    'content-type': 'application/xml',
    'content-length': String(body.length),
    'x-amz-request-id': ctx.requestId,
  });
  ctx.res.end(body);
}
