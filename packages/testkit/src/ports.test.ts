import net from 'node:net';

import { describe, expect, it } from '@jest/globals';

import { ServerStartError } from './errors.js';
import { freePort, isPortClash, retryOnPortClash } from './ports.js';

const exitedWith = (logTail: string): ServerStartError =>
  new ServerStartError('S3SEAL_RIG_SERVER_EXITED', 'exited', '/dev/null', logTail);

describe('freePort', () => {
  it('returns distinct loopback ports that can be bound', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('isPortClash', () => {
  it.each([
    'listen tcp 127.0.0.1:4000: bind: address already in use', // Go: etcd, kube-apiserver
    'Warning: Could not create server TCP listening socket 127.0.0.1:4000: bind: Address already in use', // redis
    'FATAL Unable to start the server: Specified port is already in use', // MinIO
  ])('recognises %s', (tail) => {
    expect(isPortClash(exitedWith(tail))).toBe(true);
  });

  it('ignores other exits, timeouts and other errors', () => {
    expect(isPortClash(exitedWith('panic: bad flag'))).toBe(false);
    expect(
      isPortClash(
        new ServerStartError('S3SEAL_RIG_READY_TIMEOUT', 'slow', '/dev/null', 'address already in use'),
      ),
    ).toBe(false);
    expect(isPortClash(new Error('address already in use'))).toBe(false);
  });
});

describe('retryOnPortClash', () => {
  it('starts again after a clash', async () => {
    let calls = 0;
    const result = await retryOnPortClash(() => {
      calls++;
      return calls < 3
        ? Promise.reject(exitedWith('bind: address already in use'))
        : Promise.resolve('started');
    });
    expect(result).toBe('started');
    expect(calls).toBe(3);
  });

  it('rethrows any other error at once', async () => {
    let calls = 0;
    const failure = exitedWith('panic');
    await expect(
      retryOnPortClash(() => {
        calls++;
        return Promise.reject(failure);
      }),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it('gives up after the attempts', async () => {
    let calls = 0;
    await expect(
      retryOnPortClash(
        () => {
          calls++;
          return Promise.reject(exitedWith('address already in use'));
        },
        { attempts: 2 },
      ),
    ).rejects.toBeInstanceOf(ServerStartError);
    expect(calls).toBe(2);
  });
});
