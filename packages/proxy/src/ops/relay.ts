import { pipeline } from 'node:stream/promises';
import type { RequestContext } from '../context.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';

/** Sends an upstream answer to the client as it is: status, the given headers, body streamed. */
export async function relayResponse(
  ctx: RequestContext,
  up: UpstreamResponse,
  headers: Record<string, string>,
): Promise<void> {
  ctx.res.writeHead(up.statusCode, { ...headers, 'x-amz-request-id': ctx.requestId });
  await pipeline(up.body, ctx.res);
}
