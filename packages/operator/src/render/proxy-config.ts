import { stringify } from 'yaml';

import { effectiveKeySource } from '../api/defaults.js';
import type { KeySource } from '../api/defaults.js';
import type { EncryptionPolicy } from '../api/types.js';
import { keyringIdOf, keyringSecretOf } from './names.js';

/** Where the injected sidecar finds what the operator renders (see inject/sidecar.ts). */
export const SIDECAR_PATHS = {
  configDir: '/etc/s3seal/config',
  configFile: '/etc/s3seal/config/proxy.yaml',
  kekDir: '/etc/s3seal/kek',
  vaultTokenDir: '/etc/s3seal/vault-token',
  vaultTokenFile: '/etc/s3seal/vault-token/token',
  vaultCaDir: '/etc/s3seal/vault-ca',
  vaultCaFile: '/etc/s3seal/vault-ca/ca.crt',
  /** A projected service-account token for Vault's Kubernetes auth (not the default token mount). */
  vaultServiceAccountTokenDir: '/var/run/secrets/s3seal/vault',
  vaultServiceAccountTokenFile: '/var/run/secrets/s3seal/vault/token',
} as const;

/** The proxy's keySource option for each policy key source. */
export const PROXY_KEY_SOURCE: Readonly<Record<KeySource, 'keyring' | 'vault-transit' | 'aws-kms'>> = {
  Managed: 'keyring',
  ExistingSecret: 'keyring',
  VaultTransit: 'vault-transit',
  AWSKMS: 'aws-kms',
};

/** The schema's dekCache defaults (the block itself has none, so keyring-only policies stay as they were). */
export const DEK_CACHE_DEFAULTS = { ttlSeconds: 300, maxEntries: 1024 } as const;

/** The key of the rendered configuration in its ConfigMap. */
export const PROXY_CONFIG_KEY = 'proxy.yaml';

/**
 * The proxy's configuration file for a policy: every non-secret option. Secrets (the upstream
 * key pair, the Valkey password, KMS keys) reach the sidecar as environment variables taken
 * from their Secrets by the kubelet, and the Vault token and CA as files of mounted Secrets, so
 * this ConfigMap never holds one.
 *
 * `keyringSecret` is the keyring Secret the sidecar mounts (null: none); by default what
 * the policy's spec and status say. A keyring is configured (kekDir) exactly when there is one.
 */
export function renderProxyConfig(
  policy: EncryptionPolicy,
  keyringSecret: string | null = keyringSecretOf(policy) ?? null,
): Record<string, unknown> {
  const { spec } = policy;
  const keyringId = keyringSecret === null ? undefined : keyringIdOf(policy);
  if (keyringSecret !== null && keyringId === undefined)
    throw new Error('the policy name is no valid keyring id: set spec.key.keyringId');
  const source = effectiveKeySource(spec);
  const { vaultTransit: vault, awsKms: kms } = spec.key;
  const isExternal = vault !== undefined || kms !== undefined;
  const dekCache = spec.key.dekCache ?? DEK_CACHE_DEFAULTS;
  const valkey = spec.multipart.mode === 'encrypt' ? spec.multipart.valkey : undefined;
  return {
    // Loopback: only the pod's own containers reach the S3 side.
    listen: `127.0.0.1:${spec.sidecar.port}`,
    // The kubelet probes the pod IP.
    metricsListen: `0.0.0.0:${spec.sidecar.healthPort}`,
    upstream: spec.upstream.endpoint,
    region: spec.upstream.region,
    upstreamPathStyle: spec.upstream.addressingStyle === 'path',
    insecureUpstream: spec.upstream.allowInsecureHttp,
    ...(keyringId === undefined ? {} : { kekDir: SIDECAR_PATHS.kekDir, keyringId }),
    // Keyring-only policies render as they did before external key sources existed.
    ...(isExternal ? { keySource: PROXY_KEY_SOURCE[source] } : {}),
    ...(vault
      ? {
          vaultAddress: vault.address,
          vaultSourceId: vault.sourceId,
          vaultMount: vault.mount,
          vaultKey: vault.keyName,
          ...(vault.namespace === undefined ? {} : { vaultNamespace: vault.namespace }),
          ...(vault.auth.kubernetes
            ? {
                vaultAuthRole: vault.auth.kubernetes.role,
                vaultAuthMount: vault.auth.kubernetes.mountPath,
                vaultServiceAccountTokenFile: SIDECAR_PATHS.vaultServiceAccountTokenFile,
              }
            : { vaultTokenFile: SIDECAR_PATHS.vaultTokenFile }),
          ...(vault.caSecretRef ? { vaultCaFile: SIDECAR_PATHS.vaultCaFile } : {}),
        }
      : {}),
    ...(kms
      ? {
          kmsKeyId: kms.keyId,
          kmsSourceId: kms.sourceId,
          ...(kms.region === undefined ? {} : { kmsRegion: kms.region }),
          ...(kms.endpoint === undefined ? {} : { kmsEndpoint: kms.endpoint }),
          ...(kms.previousKeyArns?.length ? { kmsPreviousKeyArns: kms.previousKeyArns } : {}),
        }
      : {}),
    ...(isExternal ? { dekCacheSeconds: dekCache.ttlSeconds, dekCacheEntries: dekCache.maxEntries } : {}),
    algorithm: spec.encryption.algorithm,
    chunkSize: spec.encryption.chunkSize,
    bindObjectKey: spec.encryption.bindObjectKey,
    buckets: spec.buckets.names,
    otherBuckets: spec.buckets.others,
    legacy: spec.legacyObjects,
    multipart: spec.multipart.mode,
    ...(valkey ? { valkeyUrl: valkey.url, multipartTtlSeconds: valkey.ttlSeconds } : {}),
    logLevel: spec.sidecar.logLevel,
  };
}

export function renderProxyConfigYaml(
  policy: EncryptionPolicy,
  keyringSecret: string | null = keyringSecretOf(policy) ?? null,
): string {
  return `# Rendered by s3seal-operator from EncryptionPolicy ${policy.metadata.namespace}/${policy.metadata.name}; edits are overwritten.\n${stringify(renderProxyConfig(policy, keyringSecret))}`;
}
