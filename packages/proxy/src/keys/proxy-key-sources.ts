import { readFileSync } from 'node:fs';
import { Keyring, KeySourceSet } from '@s3seal/core';
import type { KeySource, KeySources } from '@s3seal/core';
import { AwsKmsSource, VaultTransitSource } from '@s3seal/key-providers';
import type { KeyManagerHealth, ProbedKeySource } from '@s3seal/key-providers';
import type { Logger } from 'pino';
import { ConfigError } from '../config.js';
import type { KmsSourceConfig, ProxyConfig, VaultSourceConfig } from '../config.js';
import type { DependencyCheck } from '../health-server.js';
import type { ProxyMetrics } from '../metrics.js';
import { WatchedKeyring } from '../keyring/keyring-directory.js';

/** A key manager the proxy calls, with its last probe for /readyz. */
interface ExternalSource {
  readonly source: KeySource & ProbedKeySource;
  health: KeyManagerHealth;
}

export interface ProxyKeySources {
  /** The current sources (a reloaded keyring makes a new set, so ask per request). */
  readonly keys: () => KeySources;
  /** The keyring, when one is configured (metrics report its active version). */
  readonly keyring: (() => Keyring) | undefined;
  /** One readiness check per source, named `keyring` or after the key manager. */
  readonly checks: Readonly<Record<string, () => DependencyCheck>>;
  /** For the start-up log line. */
  describe(): { keySource: string; activeKey: string };
  close(): Promise<void>;
}

// Key managers are probed this often for /readyz (a request failing meanwhile fails closed anyway).
const PROBE_INTERVAL_MS = 10_000;

/**
 * Builds every key source the configuration names: the keyring (following its directory),
 * Vault Transit and AWS KMS. `keySource` picks the one that wraps new data keys; the others
 * stay to open what they wrapped, which is how a policy moves from one to another.
 */
export async function openProxyKeySources(
  config: ProxyConfig,
  log: Logger,
  metrics?: ProxyMetrics,
): Promise<ProxyKeySources> {
  const watched =
    config.kekDir === undefined
      ? undefined
      : await WatchedKeyring.open(config.kekDir, {
          keyringId: config.keyringId,
          onReload: (k) =>
            log.info({ activeVersion: k.activeVersion, versions: k.versions() }, 'keyring reloaded'),
          onError: (err) => log.error({ err }, 'keyring reload failed; keeping the previous keyring'),
        });
  const fromEnv =
    watched || !config.hasKeyring
      ? undefined
      : Keyring.fromEnv({ S3SEAL_KEK_ID: config.keyringId, ...config.keyringEnv });
  const keyring = watched ? (): Keyring => watched.current() : fromEnv ? (): Keyring => fromEnv : undefined;

  const externals: ExternalSource[] = [];
  try {
    if (config.vault) externals.push(external(await vaultSource(config.vault), metrics));
    if (config.kms) externals.push(external(await kmsSource(config.kms), metrics));
  } catch (err: unknown) {
    watched?.close();
    await Promise.all(externals.map((e) => e.source.close()));
    throw err;
  }
  const activeExternal =
    config.keySource === 'vault-transit'
      ? externals.find((e) => e.source.scheme === 'vault-transit')
      : config.keySource === 'aws-kms'
        ? externals.find((e) => e.source.scheme === 'aws-kms')
        : undefined;

  // One set per keyring instance: requests share it (and the data-key cache keyed on it)
  // until the keyring reloads.
  let lastKeyring: Keyring | undefined;
  let lastSet: KeySources | undefined;
  const keys = (): KeySources => {
    const current = keyring?.();
    if (lastSet !== undefined && current === lastKeyring) return lastSet;
    const sources: KeySource[] = [...(current ? [current] : []), ...externals.map((e) => e.source)];
    const active = activeExternal?.source ?? current!;
    lastKeyring = current;
    lastSet = new KeySourceSet(
      active,
      sources.filter((s) => s !== active),
    );
    return lastSet;
  };

  const probe = async (entry: ExternalSource): Promise<void> => {
    const before = entry.health;
    entry.health = await entry.source.check();
    metrics?.keyManagerUp.set({ source: entry.source.id }, entry.health.ok ? 1 : 0);
    if (entry.health.ok !== before.ok || entry.health.reason !== before.reason) {
      const fields = { keySource: entry.source.id, reason: entry.health.reason };
      if (entry.health.ok) log.info(fields, entry.health.message);
      else log.error(fields, `key manager not usable: ${entry.health.message}`);
    }
  };
  await Promise.all(externals.map(probe));
  const timer = setInterval(() => void Promise.all(externals.map(probe)), PROBE_INTERVAL_MS);
  timer.unref();

  const checks: Record<string, () => DependencyCheck> = {};
  if (keyring) checks['keyring'] = () => ({ ok: true, detail: `${keyring().id} ${keyring().activeVersion}` });
  for (const entry of externals) {
    checks[`keySource:${entry.source.id}`] = () => ({
      ok: entry.health.ok,
      detail: `${entry.health.reason}: ${entry.health.message}`,
    });
  }
  return {
    keys,
    keyring,
    checks,
    describe: () => {
      const active = keys().active;
      return {
        keySource: `${active.id} (${active.scheme})`,
        activeKey: active === keyring?.() ? keyring().activeVersion : 'per key manager',
      };
    },
    close: async () => {
      clearInterval(timer);
      watched?.close();
      await Promise.all(externals.map((e) => e.source.close()));
    },
  };
}

function external(source: KeySource & ProbedKeySource, metrics: ProxyMetrics | undefined): ExternalSource {
  return {
    source: metrics ? instrumented(source, metrics) : source,
    health: { ok: false, reason: 'NotProbed', message: 'not probed yet' },
  };
}

const OUTCOMES: Readonly<Record<string, string>> = {
  S3SEAL_KEY_PROVIDER_UNAVAILABLE: 'unavailable',
  S3SEAL_KEY_PROVIDER_DENIED: 'denied',
  S3SEAL_KEY_UNWRAP_FAILED: 'unwrap_failed',
};

/** The same source, its calls counted and timed (a key manager is a network dependency of every request). */
function instrumented<S extends KeySource & ProbedKeySource>(source: S, metrics: ProxyMetrics): S {
  const timed =
    <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const labels = { source: source.id, operation };
      const end = metrics.keyManagerDuration.startTimer(labels);
      try {
        const result = await call(...args);
        metrics.keyManagerCalls.inc({ ...labels, outcome: 'ok' });
        return result;
      } catch (err: unknown) {
        const code = (err as { code?: unknown }).code;
        metrics.keyManagerCalls.inc({
          ...labels,
          outcome: (typeof code === 'string' && OUTCOMES[code]) || 'error',
        });
        throw err;
      } finally {
        end();
      }
    };
  const generate = source.generate?.bind(source);
  const rewrap = source.rewrap?.bind(source);
  // Every method bound to the source itself: its state (a learnt key version) lives there.
  return Object.assign(Object.create(source) as S, {
    check: source.check.bind(source),
    close: source.close.bind(source),
    isActiveVersion: source.isActiveVersion.bind(source),
    wrap: timed('wrap', source.wrap.bind(source)),
    unwrap: timed('unwrap', source.unwrap.bind(source)),
    ...(generate ? { generate: timed('generate', generate) } : {}),
    ...(rewrap ? { rewrap: timed('rewrap', rewrap) } : {}),
  });
}

function vaultSource(config: VaultSourceConfig): Promise<VaultTransitSource> {
  const { auth } = config;
  return VaultTransitSource.create({
    id: config.id,
    address: config.address,
    mount: config.mount,
    key: config.key,
    namespace: config.namespace,
    auth:
      auth.method === 'token'
        ? { method: 'token', token: auth.token.reveal() }
        : auth.method === 'token-file'
          ? { method: 'token-file', file: auth.file }
          : {
              method: 'kubernetes',
              role: auth.role,
              mount: auth.mount,
              jwtFile: auth.serviceAccountTokenFile,
            },
    caPem: config.caFile === undefined ? undefined : readFile(config.caFile, 'vaultCaFile'),
  });
}

function kmsSource(config: KmsSourceConfig): Promise<AwsKmsSource> {
  const { credentials } = config;
  return AwsKmsSource.create({
    id: config.id,
    keyId: config.keyId,
    region: config.region,
    endpoint: config.endpoint,
    previousKeyArns: config.previousKeyArns,
    credentials:
      credentials === undefined
        ? undefined
        : {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey.reveal(),
            sessionToken: credentials.sessionToken?.reveal(),
          },
  });
}

function readFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw new ConfigError([`${option} ${path}: ${(err as Error).message}`]);
  }
}
