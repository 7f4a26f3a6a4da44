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

/** Reads a JSON or YAML file once per change (mtime), so rotated credentials take effect without a restart. */
function watchedFile<T>(path: string, parse: (doc: unknown) => T): () => T {
  let cached: { mtimeMs: number; value: T } | undefined;
  return () => {
    const mtimeMs = statSync(path).mtimeMs;
    if (!cached || cached.mtimeMs !== mtimeMs)
      cached = { mtimeMs, value: parse(parseYaml(readFileSync(path, 'utf8'))) };
    return cached.value;
  };
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

export function upstreamCredentials(config: ProxyConfig): () => UpstreamCredentials {
  if (config.upstreamCredentialsFile !== undefined) {
    const path = config.upstreamCredentialsFile;
    return watchedFile(path, (doc) => asKeyPair(doc, path));
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
export function clientCredentials(config: ProxyConfig, upstream: () => UpstreamCredentials): CredentialStore {
  if (config.clientCredentialsFile !== undefined) {
    const path = config.clientCredentialsFile;
    const load = watchedFile(path, (doc) => {
      const list = Array.isArray(doc) ? doc : (doc as { credentials?: unknown[] } | null)?.credentials;
      if (!Array.isArray(list)) throw new Error(`${path}: expected a list of {accessKeyId, secretAccessKey}`);
      return new Map(
        list
          .map((item, i) => asKeyPair(item, `${path}[${i}]`))
          .map((p) => [p.accessKeyId, p.secretAccessKey]),
      );
    });
    return { secretFor: (accessKeyId) => load().get(accessKeyId) };
  }
  return {
    secretFor: (accessKeyId) => {
      const pair = upstream();
      return pair.accessKeyId === accessKeyId ? pair.secretAccessKey : undefined;
    },
  };
}
