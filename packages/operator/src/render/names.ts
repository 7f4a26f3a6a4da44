import { createHash } from 'node:crypto';

import { effectiveKeySource, isExternalKeySource } from '../api/defaults.js';
import type { EncryptionPolicy } from '../api/types.js';

const MAX_NAME = 253;

/**
 * `<base>-<suffix>`, kept a valid object name: past 253 characters the base is cut and a short
 * hash of the whole keeps two long names apart.
 */
export function childName(base: string, suffix: string): string {
  const name = `${base}-${suffix}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${base.slice(0, MAX_NAME - suffix.length - hash.length - 2)}-${hash}-${suffix}`;
}

/** The Secret holding the policy's key versions (managed or the user's own). */
export function keySecretName(policy: EncryptionPolicy): string {
  return (
    policy.spec.key.existingSecret?.name ??
    policy.spec.key.managed?.secretName ??
    childName(policy.metadata.name, 'kek')
  );
}

/**
 * The keyring Secret the sidecar mounts, if any. A keyring source always has one. With Vault or
 * KMS wrapping new objects, a keyring stays mounted as a read-only source for the objects it
 * sealed: the user's key.existingSecret, or the keyring the policy used before (recorded in
 * status.keySecretName by the controller, which also renders the proxy configuration from it).
 */
export function keyringSecretOf(policy: EncryptionPolicy): string | undefined {
  if (!isExternalKeySource(effectiveKeySource(policy.spec))) return keySecretName(policy);
  return policy.spec.key.existingSecret?.name ?? policy.status?.keySecretName;
}

/** The ConfigMap the controller renders the proxy configuration into. */
export function proxyConfigMapName(policy: EncryptionPolicy): string {
  return childName(policy.metadata.name, 's3seal-proxy');
}

const KEYRING_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** The keyring id recorded in objects: spec.key.keyringId, else the policy name when it fits. */
export function keyringIdOf(policy: EncryptionPolicy): string | undefined {
  const id = policy.spec.key.keyringId ?? policy.metadata.name;
  return KEYRING_ID.test(id) ? id : undefined;
}
