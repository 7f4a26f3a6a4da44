import { selectRigBackend } from './backend.js';
import { RigError } from './errors.js';
import { startValkeyFromConfig } from './valkey-process.js';

export interface ValkeyServer {
  /** `redis://host:port`, what ioredis and the proxy's VALKEY_URL take. */
  url: string;
  host: string;
  port: number;
  /** Undefined when the server is not a child process of this one (VALKEY_URL, container backend). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface StartValkeyOptions {
  /** Use the server named by VALKEY_URL when set (default true); false always starts one. */
  allowExternal?: boolean;
  readyTimeoutMs?: number;
  /**
   * Listen on this port rather than a free one: to start a server again where clients expect
   * the one that was stopped. Implies a server of our own (VALKEY_URL is not used).
   */
  port?: number;
}

/**
 * Starts redis-server (Valkey speaks the same protocol) on a free loopback port, without persistence.
 * With VALKEY_URL set, returns that server instead and stop() leaves it running.
 */
export async function startValkey(options: StartValkeyOptions = {}): Promise<ValkeyServer> {
  const externalUrl = process.env.VALKEY_URL;
  const isExternalAllowed = (options.allowExternal ?? true) && options.port === undefined;
  if (isExternalAllowed && externalUrl !== undefined && externalUrl !== '') {
    return {
      ...parseValkeyUrl(externalUrl),
      url: externalUrl,
      pid: undefined,
      stop: () => Promise.resolve(),
    };
  }
  if (selectRigBackend() === 'containers') {
    const { startValkeyContainer } = await import('./containers.js');
    return startValkeyContainer(options);
  }
  return startValkeyProcess(options);
}

/** Host and port of a `redis://` / `rediss://` URL (port 6379 when absent). */
export function parseValkeyUrl(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err: unknown) {
    throw new RigError('S3SEAL_RIG_BAD_VALKEY_URL', `VALKEY_URL=${url} is not a URL`, { cause: err });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RigError('S3SEAL_RIG_BAD_VALKEY_URL', `VALKEY_URL=${url}: expected redis:// or rediss://`);
  }
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: parsed.port === '' ? 6379 : Number(parsed.port) };
}

async function startValkeyProcess(options: StartValkeyOptions): Promise<ValkeyServer> {
  return startValkeyFromConfig({
    name: 'redis',
    config: (port) => [`port ${port}`],
    port: options.port,
    readyTimeoutMs: options.readyTimeoutMs,
  });
}
