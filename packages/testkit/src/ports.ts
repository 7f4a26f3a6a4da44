import net from 'node:net';

import { ServerStartError } from './errors.js';

const LOOPBACK = '127.0.0.1';

/** Ports this process has handed out, so two servers started together never get the same one. */
const handedOut = new Set<number>();

/**
 * A loopback port that was free a moment ago (listen on 0, read, close). Another process can take it
 * before the server binds it, so callers wrap the start in `retryOnPortClash`.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await listenOnZero();
    // The kernel rarely repeats an ephemeral port soon; give up avoiding repeats after a few tries.
    if (!handedOut.has(port) || attempt >= 10) {
      handedOut.add(port);
      return port;
    }
  }
}

function listenOnZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error(`unexpected listen address ${String(address)}`));
      });
    });
  });
}

/** The server exited at startup because one of its ports was taken (wording of Go, redis and MinIO). */
export function isPortClash(err: unknown): boolean {
  return (
    err instanceof ServerStartError &&
    err.code === 'S3SEAL_RIG_SERVER_EXITED' &&
    /address already in use|port is already in use|EADDRINUSE/i.test(err.logTail)
  );
}

export interface RetryOptions {
  /** Starts tried in all, the first included. */
  attempts?: number;
  isClash?: (err: unknown) => boolean;
}

/** Runs `start` again (it picks new ports each time) while it fails with a port clash. */
export async function retryOnPortClash<T>(start: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, isClash = isPortClash } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err: unknown) {
      if (attempt >= attempts || !isClash(err)) throw err;
    }
  }
}
