// Fault injection for tests against real processes: freeze, thaw or kill a server by pid, and a
// TCP relay between a client and a server that can cut connections or slow them down.
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { isErrnoException, RigError } from './errors.js';

function pidOf(server: { pid: number | undefined }, what: string): number {
  if (server.pid === undefined)
    throw new RigError(
      'S3SEAL_RIG_BAD_BACKEND',
      `${what} needs a server started as a child process (S3SEAL_RIG_BACKEND=process, no VALKEY_URL)`,
    );
  return server.pid;
}

/** SIGSTOP: the server keeps its sockets open but answers nothing until `resumeServer`. */
export function pauseServer(server: { pid: number | undefined }): void {
  process.kill(pidOf(server, 'pauseServer'), 'SIGSTOP');
}

/** SIGCONT after `pauseServer`. */
export function resumeServer(server: { pid: number | undefined }): void {
  process.kill(pidOf(server, 'resumeServer'), 'SIGCONT');
}

/**
 * SIGKILL, then waits until the pid is gone (the rig's stop() then only notes that it had exited).
 * A server that was paused dies too: SIGKILL needs no SIGCONT.
 */
export async function killServer(server: { pid: number | undefined }, timeoutMs = 10_000): Promise<void> {
  const pid = pidOf(server, 'killServer');
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // Signal 0 checks existence; a zombie not yet reaped by the parent still answers.
      process.kill(pid, 0);
    } catch (err: unknown) {
      if (isErrnoException(err) && err.code === 'ESRCH') return;
      throw err;
    }
    if (Date.now() > deadline) throw new Error(`pid ${pid} still exists ${timeoutMs} ms after SIGKILL`);
    await sleep(20);
  }
}

/** What a FaultProxy does to the bytes it relays. */
export type FaultMode =
  | { readonly kind: 'pass' }
  /**
   * Forwards `bytes` more bytes in `direction` (counted from when the mode was set, across
   * connections), then resets (RST) the connection that carries the next one, both sides.
   */
  | { readonly kind: 'reset-after'; readonly bytes: number; readonly direction: 'upstream' | 'downstream' }
  /** Holds each chunk for `ms` before forwarding it, in both directions (backpressure applies). */
  | { readonly kind: 'delay'; readonly ms: number };

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Applies to bytes relayed from now on, on open and new connections. */
  setMode(mode: FaultMode): void;
  /** Connections reset by a `reset-after` mode so far. */
  readonly resets: number;
  close(): Promise<void>;
}

/** A TCP relay on a free loopback port to `target` (`http://host:port` or `host:port`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const parsed = new URL(target.includes('://') ? target : `tcp://${target}`);
  const targetHost = parsed.hostname;
  const targetPort = Number(parsed.port);
  let mode: FaultMode = { kind: 'pass' };
  let budget = 0;
  let resets = 0;
  const sockets = new Set<Socket>();

  const relay = (from: Socket, to: Socket, direction: 'upstream' | 'downstream'): void => {
    let queue = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const current = mode;
      if (current.kind === 'reset-after' && current.direction === direction) {
        if (budget < chunk.length) {
          const head = chunk.subarray(0, Math.max(0, budget));
          budget = 0;
          resets++;
          if (head.length > 0) to.write(head);
          from.resetAndDestroy();
          to.resetAndDestroy();
          return;
        }
        budget -= chunk.length;
      }
      if (current.kind === 'delay') {
        from.pause();
        queue = queue.then(async () => {
          await sleep(current.ms);
          if (!to.destroyed) to.write(chunk);
          if (!from.destroyed) from.resume();
        });
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => void queue.then(() => to.end()));
    from.on('error', () => to.destroy());
    from.on('close', () => {
      if (!to.destroyed) void queue.then(() => to.destroy());
    });
  };

  const server = net.createServer((client) => {
    const upstream = net.connect({ host: targetHost, port: targetPort });
    sockets.add(client).add(upstream);
    client.once('close', () => sockets.delete(client));
    upstream.once('close', () => sockets.delete(upstream));
    relay(client, upstream, 'upstream');
    relay(upstream, client, 'downstream');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setMode: (next) => {
      mode = next;
      budget = next.kind === 'reset-after' ? next.bytes : 0;
    },
    get resets() {
      return resets;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
