import { ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';

/**
 * The S3 listener's response class (createServer's `ServerResponse` option): counts the body
 * bytes written to the client, whoever writes them (a relayed body, a decrypted object, an XML
 * document), with one addition per write and nothing allocated.
 */
export class MeteredResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  /** Body bytes handed to the connection so far (headers not included). */
  bodyBytes = 0;

  // The signatures are ServerResponse's overloads; the arguments are passed on as given.
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    this.bodyBytes += byteLength(chunk);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any
    return super.write(chunk as any, encoding as any, callback as any);
  }

  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    // end(callback) and end() carry no body.
    if (typeof chunk !== 'function') this.bodyBytes += byteLength(chunk);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any
    return super.end(chunk as any, encoding as any, callback as any);
  }
}

function byteLength(chunk: unknown): number {
  if (chunk === undefined || chunk === null) return 0;
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  return (chunk as Uint8Array).byteLength ?? 0;
}
