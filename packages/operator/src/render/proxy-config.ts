import { stringify } from 'yaml';

import type { EncryptionPolicy } from '../api/types.js';
import { keyringIdOf } from './names.js';

/** Where the injected sidecar finds what the operator renders (see inject/sidecar.ts). */
export const SIDECAR_PATHS = {
  configDir: '/etc/s3seal/config',
  configFile: '/etc/s3seal/config/proxy.yaml',
  kekDir: '/etc/s3seal/kek',
} as const;

/** The key of the rendered configuration in its ConfigMap. */
export const PROXY_CONFIG_KEY = 'proxy.yaml';

/**
 * The proxy's configuration file for a policy: every non-secret option. Secrets (the upstream
 * key pair, the Valkey password) reach the sidecar as environment variables taken from their
 * Secrets by the kubelet, so this ConfigMap never holds one.
 */
export function renderProxyConfig(policy: EncryptionPolicy): Record<string, unknown> {
  const { spec } = policy;
  const keyringId = keyringIdOf(policy);
  if (keyringId === undefined)
    throw new Error('the policy name is no valid keyring id: set spec.key.keyringId');
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
    kekDir: SIDECAR_PATHS.kekDir,
    keyringId,
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

export function renderProxyConfigYaml(policy: EncryptionPolicy): string {
  return `# Rendered by s3seal-operator from EncryptionPolicy ${policy.metadata.namespace}/${policy.metadata.name}; edits are overwritten.\n${stringify(renderProxyConfig(policy))}`;
}
