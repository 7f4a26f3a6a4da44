import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '@s3seal/testkit';
import { PROXY_NODE_FLAGS } from '../../src/node-flags.js';

/** The built proxy (`make test` builds before testing), started the way production starts it. */
export const PROXY_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ProxyChild {
  readonly child: ChildProcess;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Resolves with the exit code and signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The status /readyz answers now (0 when nothing answers). */
  readonly readyz: () => Promise<number>;
  /** Everything the proxy wrote so far. */
  readonly log: () => string;
}

const started: ChildProcess[] = [];

/**
 * Starts `node <flags> dist/main.js` with only `env` (plus PATH) and free loopback ports for the
 * S3 and operations listeners; resolves once /readyz answers 200, or fails with the proxy's log.
 */
export async function startProxyChild(env: Record<string, string>, logDir: string): Promise<ProxyChild> {
  if (!existsSync(PROXY_MAIN)) throw new Error(`${PROXY_MAIN} is missing: run \`npm run build\` first`);
  const [port, healthPort] = [await freePort(), await freePort()];
  const logPath = join(logDir, `proxy-${port}.log`);
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...PROXY_NODE_FLAGS, PROXY_MAIN], {
      stdio: ['ignore', logFd, logFd],
      env: {
        PATH: process.env['PATH'] ?? '',
        ...env,
        S3SEAL_LISTEN: `127.0.0.1:${port}`,
        S3SEAL_METRICS_LISTEN: `127.0.0.1:${healthPort}`,
      },
    });
  } finally {
    closeSync(logFd);
  }
  started.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const log = (): string => readFileSync(logPath, 'utf8');
  const readyz = (): Promise<number> =>
    fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
      (res) => res.status,
      () => 0,
    );
  const deadline = Date.now() + 15_000;
  while ((await readyz()) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the proxy did not become ready\n${log()}`);
    }
    await sleep(50);
  }
  return { child, port, url: `http://127.0.0.1:${port}`, exited, readyz, log };
}

/** SIGKILLs every proxy this module started that is still running (for afterAll). */
export function killProxyChildren(): void {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
