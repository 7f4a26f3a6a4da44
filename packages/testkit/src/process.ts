import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { isErrnoException, ServerStartError } from './errors.js';
import { isPortClash } from './ports.js';
import { releaseRunDir, removeRunDir } from './run-dir.js';
import { suiteState } from './suite-state.js';

const POLL_INTERVAL_MS = 50;
const PROBE_TIMEOUT_MS = 2_000;
const LOG_TAIL_LINES = 30;

export interface ServerSpec {
  /** Names the log file (`<name>.log`) and appears in messages. */
  name: string;
  command: string;
  args: readonly string[];
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
  /** Handed over to the process: deleted after a clean stop unless logs are kept (see run-dir.ts). */
  runDir: string;
  /** One readiness check; true once the server serves. A rejection counts as "not yet". */
  isReady: (signal: AbortSignal) => Promise<boolean>;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly runDir: string;
  readonly logPath: string;
  /** From spawn until the readiness check first passed. */
  readonly readyAfterMs: number;
  /** SIGTERM, SIGKILL after the grace period, wait for the exit, then release the run dir. Idempotent. */
  readonly stop: () => Promise<void>;
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
}

/** Live children of this process by pid, killed synchronously if the process exits first. */
const liveChildren = new Map<number, ChildProcess>();
let isExitHookInstalled = false;

/**
 * Spawns a server with stdout and stderr appended to `<runDir>/<name>.log` and resolves once
 * `isReady` passes. Rejects with a ServerStartError carrying the log tail if the process exits
 * first or the timeout passes (the process is then killed).
 */
export async function startServerProcess(spec: ServerSpec): Promise<ServerProcess> {
  const { name, runDir, readyTimeoutMs = 30_000, stopGraceMs = 10_000 } = spec;
  const logPath = path.join(runDir, `${name}.log`);
  const logFd = openSync(logPath, 'a');
  const startedAt = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, ...spec.env },
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(logFd);
  }

  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    const onExit = (info: ExitInfo): void => {
      if (exit !== undefined) return;
      exit = info;
      if (child.pid !== undefined) untrack(child.pid);
      resolve(info);
    };
    child.once('exit', (code, signal) => onExit({ code, signal }));
    // 'error' also reports a failed kill() of a live child; only a failed spawn means it is gone.
    child.on('error', (err) => {
      if (child.pid === undefined) onExit({ code: null, signal: null, spawnError: err });
    });
  });
  if (child.pid === undefined) {
    // A failed spawn (ENOENT, EACCES) reports through 'error' on the next tick.
    await exited;
  } else {
    track(child.pid, child);
  }

  const fail = async (
    code: 'S3SEAL_RIG_SERVER_EXITED' | 'S3SEAL_RIG_READY_TIMEOUT',
    what: string,
    cause?: unknown,
  ): Promise<never> => {
    const logTail = await readLogTail(logPath);
    const error = new ServerStartError(
      code,
      `${name} ${what}; log: ${logPath}\n--- last lines of the log ---\n${logTail}`,
      logPath,
      logTail,
      cause === undefined ? undefined : { cause },
    );
    // A port clash is retried with fresh ports and dirs; anything else keeps its log for reading.
    if (isPortClash(error)) await removeRunDir(runDir);
    throw error;
  };

  let lastProbeError: unknown;
  const probe = async (): Promise<boolean> => {
    try {
      return await spec.isReady(AbortSignal.timeout(PROBE_TIMEOUT_MS));
    } catch (err: unknown) {
      // Refused, reset or timed out: expected while the server starts; kept for the timeout message.
      lastProbeError = err;
      return false;
    }
  };

  for (;;) {
    if (exit !== undefined) {
      return fail(
        'S3SEAL_RIG_SERVER_EXITED',
        `exited (${describeExit(exit)}) before it was ready`,
        exit.spawnError,
      );
    }
    const isReady = await probe();
    // Exited meanwhile: whatever answered is not this process (e.g. another server on a reused port).
    if (exit !== undefined) continue;
    if (isReady) break;
    if (performance.now() - startedAt > readyTimeoutMs) {
      await terminate(child, exited, 0);
      return fail(
        'S3SEAL_RIG_READY_TIMEOUT',
        `was not ready after ${readyTimeoutMs} ms (killed)`,
        lastProbeError,
      );
    }
    await Promise.race([sleep(POLL_INTERVAL_MS), exited]);
  }
  const readyAfterMs = Math.round(performance.now() - startedAt);

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    if (exit !== undefined) {
      // It died on its own during the tests: keep the log whatever the outcome.
      process.stderr.write(
        `s3seal rig: ${name} had exited (${describeExit(exit)}) before stop(); log: ${logPath}\n`,
      );
      return;
    }
    await terminate(child, exited, stopGraceMs, name);
    await releaseRunDir(runDir);
  };

  return {
    name,
    pid: child.pid as number,
    runDir,
    logPath,
    readyAfterMs,
    stop: () => (stopping ??= stop()),
  };
}

async function terminate(
  child: ChildProcess,
  exited: Promise<ExitInfo>,
  graceMs: number,
  name?: string,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (graceMs <= 0) {
    child.kill('SIGKILL');
    await exited;
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    process.stderr.write(
      `s3seal rig: ${name ?? 'server'} still running ${graceMs} ms after SIGTERM; SIGKILL\n`,
    );
    child.kill('SIGKILL');
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function track(pid: number, child: ChildProcess): void {
  liveChildren.set(pid, child);
  suiteState()?.livePids.add(pid);
  if (!isExitHookInstalled) {
    // Synchronous by necessity: nothing asynchronous runs in an 'exit' listener.
    process.on('exit', killLiveChildren);
    isExitHookInstalled = true;
  }
}

function untrack(pid: number): void {
  liveChildren.delete(pid);
  suiteState()?.livePids.delete(pid);
}

function killLiveChildren(): void {
  for (const pid of liveChildren.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err: unknown) {
      if (!(isErrnoException(err) && err.code === 'ESRCH')) throw err;
    }
  }
}

function describeExit(exit: ExitInfo): string {
  if (exit.spawnError !== undefined) return `spawn failed: ${exit.spawnError.message}`;
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

async function readLogTail(logPath: string): Promise<string> {
  const text = await readFile(logPath, 'utf8');
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}
