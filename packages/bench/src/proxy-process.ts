// The proxy as its own process (node packages/proxy/dist/main.js), so its CPU and RSS can be read
// from /proc and it can be pinned to a core of its own.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PROXY_NODE_FLAGS } from '@s3seal/proxy';
import { freePort } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';

export interface ProxyProcess {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

export interface ProxyProcessOptions {
  /** packages/proxy/dist/main.js of the build to measure. */
  readonly main: string;
  readonly minio: MinioServer;
  /** Where the proxy's log (stdout and stderr) goes. */
  readonly logPath: string;
  /** S3SEAL_LOG_LEVEL; the default, info, logs one line per request as production does. */
  readonly logLevel: string;
  /** PATH and HOME of the caller, and any extra S3SEAL_* options. */
  readonly env: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

/** Starts the built proxy in front of MinIO with a fresh random keyring (S3SEAL_KEK_V1). */
export async function startProxyProcess(options: ProxyProcessOptions): Promise<ProxyProcess> {
  if (!existsSync(options.main)) throw new Error(`${options.main} is missing: run \`npm run build\` first`);
  const port = await freePort();
  // The log goes through a pipe that this process drains into the file, as a container runtime
  // drains a sidecar's stdout. Handing the proxy the file itself measured the disk: its pino
  // writes are synchronous, and one blocks for milliseconds while MinIO keeps the journal busy.
  const log = createWriteStream(options.logPath, { flags: 'a' });
  let child: ChildProcess;
  try {
    // With the node flags production runs it with (Dockerfile.proxy's ENTRYPOINT).
    child = spawn(process.execPath, [...PROXY_NODE_FLAGS, options.main], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what the proxy needs: its config refuses unknown S3SEAL_* variables.
      env: {
        ...options.env,
        S3SEAL_LISTEN: `127.0.0.1:${port}`,
        S3SEAL_UPSTREAM: options.minio.endpoint,
        S3SEAL_LOG_LEVEL: options.logLevel,
        S3SEAL_KEK_V1: randomBytes(32).toString('base64'),
        S3SEAL_KEK_ACTIVE: 'v1',
        AWS_ACCESS_KEY_ID: options.minio.accessKeyId,
        AWS_SECRET_ACCESS_KEY: options.minio.secretAccessKey,
      },
    });
  } catch (err: unknown) {
    log.end();
    throw err;
  }
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the proxy process did not start');
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  child.once('close', () => log.end());

  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  while (!(await isListening(port))) {
    if (exitCode !== undefined)
      throw new Error(`the proxy exited (${exitCode}) at start; see ${options.logPath}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the proxy did not listen on ${port} in time; see ${options.logPath}`);
    }
    await sleep(50);
  }
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      // The timer is cancelled once the child exits, so stop() never holds the event loop for 10 s.
      const giveUp = new AbortController();
      await Promise.race([
        exited.then(() => giveUp.abort()),
        sleep(10_000, undefined, { signal: giveUp.signal }).then(
          () => child.kill('SIGKILL'),
          () => undefined,
        ),
      ]);
    },
  };
}

/**
 * Whether this proxy build knows an option (its --help lists each option's variable). Lets the
 * harness measure builds from before and after a feature, e.g. multipart and S3SEAL_VALKEY_URL.
 */
export async function proxyHasOption(main: string, variable: string): Promise<boolean> {
  const { stdout } = await promisify(execFile)(process.execPath, [main, '--help']);
  return stdout.includes(`env: ${variable}`);
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
