import type { Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { EncryptStream } from '@s3seal/core';
import type { ProxyServices, RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';
import { throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';

/** A sealed body on its way to the backend: plaintext source → optional check → encryption. */
export interface SealedBody {
  /** Plaintext source: the request body, an in-memory body, or a decrypting stream (copies). */
  readonly plaintext: Readable;
  /** A stage between source and encryption: the client body's verifier, or a hashing tap. */
  readonly stage?: Transform | undefined;
  readonly encrypt: EncryptStream;
}

/** Where the sealed body goes: a PutObject or an UploadPart, with its length in `headers`. */
export interface SealedTarget {
  readonly key: string;
  readonly query?: readonly (readonly [string, string])[];
  readonly headers: Record<string, string>;
}

/**
 * PUTs a sealed body upstream (PutObject, UploadPart, copies), fail closed: the body's checks
 * run before its last chunk is sealed, so a body that fails them (bad signature, checksum,
 * length) never completes upstream; the upstream request is aborted and the client gets the
 * body's error, not undici's. Returns the backend's 2xx answer, its body drained.
 */
export async function putSealedBody(
  ctx: RequestContext,
  services: ProxyServices,
  target: SealedTarget,
  body: SealedBody,
): Promise<UpstreamResponse> {
  const { plaintext, stage, encrypt } = body;
  // The source is piped, not pipelined, so that it can be let go of without destroying it:
  // when the backend refuses early, the client must still get the answer on its connection.
  const first = stage ?? encrypt;
  const stages = stage ? pipeline(stage, encrypt) : finished(encrypt);
  feed(plaintext, first);
  const up = await sendSealed(ctx, services, target, encrypt, stages, () => plaintext.unpipe(first));
  if (up.statusCode >= 300) await throwUpstreamError(up);
  await up.body.dump();
  return up;
}

async function sendSealed(
  ctx: RequestContext,
  services: ProxyServices,
  target: SealedTarget,
  sealed: EncryptStream,
  stages: Promise<void>,
  detachSource: () => void,
): Promise<UpstreamResponse> {
  let bodyError: unknown;
  const bodyDone = stages.catch((err: unknown) => {
    bodyError = err;
    sealed.destroy(err as Error);
  });
  try {
    const up = await services.upstream.send({
      method: 'PUT',
      bucket: ctx.target.bucket,
      key: target.key,
      query: target.query,
      headers: target.headers,
      body: sealed,
      signal: ctx.signal,
    });
    if (up.statusCode >= 300) {
      // The backend refused before taking the whole body (a failed If-None-Match, a missing
      // bucket): stop reading the client rather than wait for a body nobody will store.
      detachSource();
      sealed.destroy();
      await bodyDone;
      return up;
    }
    await bodyDone;
    if (bodyError !== undefined) throw bodyError as Error;
    return up;
  } catch (err: unknown) {
    await bodyDone;
    // undici destroys the body with the socket's own error when the upstream connection fails
    // (reset, EPIPE): that is the upstream's failure (503 UpstreamUnavailable), not the body's.
    const isUpstreamFailure = err instanceof S3Error && err.cause !== undefined && err.cause === bodyError;
    throw (isUpstreamFailure ? err : (bodyError ?? err)) as Error;
  }
}

/** Pipes a source into the first stage, carrying its failures (a client gone mid-body) along. */
function feed(source: Readable, into: Transform): void {
  source.once('error', (err) => into.destroy(err));
  source.once('close', () => {
    if (!source.readableEnded)
      into.destroy(new S3Error('IncompleteBody', 'the body ended before its declared length'));
  });
  source.pipe(into);
}
