import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { CredentialStore } from './auth/index.js';
import type { ProxyConfig } from './config.js';
import type { UpstreamCredentials } from './upstream/upstream-client.js';

interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Reads a JSON or YAML file once per change (mtime), so rotated credentials take effect without
 * a restart. A file that is missing or invalid after a good read (a half-written update, a
 * Secret being swapped) keeps the last good value, as the keyring does, rather than failing every
 * request; `onError` says why. Without a good read yet, the error stands.
 */
function watchedFile<T>(path: string, parse: (doc: unknown) => T, onError: (err: unknown) => void): () => T {
  let cached: { mtimeMs: number; value: T } | undefined;
  let failedMtimeMs: number | undefined;
  return () => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
      if (cached?.mtimeMs === mtimeMs || failedMtimeMs === mtimeMs) return (cached ?? fail(path)).value;
      cached = { mtimeMs, value: parse(parseYaml(readFileSync(path, 'utf8'))) };
      failedMtimeMs = undefined;
      return cached.value;
    } catch (err: unknown) {
      if (!cached) throw err;
      if (failedMtimeMs === undefined) onError(err);
      failedMtimeMs = statMtime(path);
      return cached.value;
    }
  };
}

function statMtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined; // A missing file: keep the last good value until it is back.
  }
}

function fail(path: string): never {
  throw new Error(`${path} has never been read successfully`);
}

function asKeyPair(doc: unknown, where: string): KeyPair {
  const pair = doc as Partial<KeyPair> | null;
  if (!pair || typeof pair.accessKeyId !== 'string' || typeof pair.secretAccessKey !== 'string') {
    throw new Error(`${where}: expected accessKeyId and secretAccessKey`);
  }
  return {
    accessKeyId: pair.accessKeyId,
    secretAccessKey: pair.secretAccessKey,
    sessionToken: pair.sessionToken,
  };
}

export function upstreamCredentials(
  config: ProxyConfig,
  onError: (err: unknown) => void,
): () => UpstreamCredentials {
  if (config.upstreamCredentialsFile !== undefined) {
    const path = config.upstreamCredentialsFile;
    return watchedFile(path, (doc) => asKeyPair(doc, path), onError);
  }
  const fixed: UpstreamCredentials = {
    accessKeyId: config.accessKeyId!,
    secretAccessKey: config.secretAccessKey!.reveal(),
    sessionToken: config.sessionToken?.reveal(),
  };
  return () => fixed;
}

/**
 * The key pairs clients may sign with: the configured list, or by default the upstream pair,
 * so an application keeps its credentials and changes only its endpoint.
 */
export function clientCredentials(
  config: ProxyConfig,
  upstream: () => UpstreamCredentials,
  onError: (err: unknown) => void,
): CredentialStore {
  if (config.clientCredentialsFile !== undefined) {
    const path = config.clientCredentialsFile;
    const load = watchedFile(
      path,
      (doc) => {
        const list = Array.isArray(doc) ? doc : (doc as { credentials?: unknown[] } | null)?.credentials;
        if (!Array.isArray(list))
          throw new Error(`${path}: expected a list of {accessKeyId, secretAccessKey}`);
        return new Map(
          list
            .map((item, i) => asKeyPair(item, `${path}[${i}]`))
            .map((p) => [p.accessKeyId, p.secretAccessKey]),
        );
      },
      onError,
    );
    return { secretFor: (accessKeyId) => load().get(accessKeyId) };
  }
  return {
    secretFor: (accessKeyId) => {
      const pair = upstream();
      return pair.accessKeyId === accessKeyId ? pair.secretAccessKey : undefined;
    },
  };
}
