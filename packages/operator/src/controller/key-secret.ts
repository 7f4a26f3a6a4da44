import { randomBytes } from 'node:crypto';

import { Keyring } from '@s3seal/core';
import type { V1Secret } from '@kubernetes/client-node';

import {
  ANNOTATION_LAST_ROTATION,
  ANNOTATION_ROTATE_KEY_HANDLED,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  LABEL_POLICY,
  MANAGED_BY,
} from '../api/names.js';

/** The Secret type of operator-minted keyrings: recognisable, and never mistaken for a TLS or token Secret. */
export const KEY_SECRET_TYPE = 's3seal.io/keyring';
const KEK_BYTES = 32;
const VERSION = /^v([1-9][0-9]{0,8})$/;

/** Secret data is base64 of each file; each key file holds base64 text of 32 random bytes. */
const encode = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const decode = (data: string): string => Buffer.from(data, 'base64').toString('utf8');

/** The key versions in a Secret's data, oldest first (v2 before v10). */
export function keyVersions(secret: V1Secret): string[] {
  return Object.keys(secret.data ?? {})
    .filter((name) => VERSION.test(name))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
}

export function activeVersion(secret: V1Secret): string | undefined {
  const active = secret.data?.active;
  return active === undefined ? undefined : decode(active).trim();
}

/**
 * Parses the Secret exactly as the proxy will read the mounted files, so a Secret the operator
 * calls ready is one the sidecar accepts.
 */
export function parseKeyring(secret: V1Secret, keyringId: string): Keyring {
  const entries = new Map<string, string>();
  for (const [name, data] of Object.entries(secret.data ?? {})) entries.set(name, decode(data));
  return Keyring.fromEntries(keyringId, entries);
}

/** Whether the operator minted this Secret for this policy (it only ever changes its own). */
export function isOwnKeySecret(secret: V1Secret, policyName: string): boolean {
  const labels = secret.metadata?.labels ?? {};
  return labels[LABEL_MANAGED_BY] === MANAGED_BY && labels[LABEL_POLICY] === policyName;
}

/** A new keyring Secret with v1 active. */
export function newKeySecret(options: {
  name: string;
  namespace: string;
  policyName: string;
  now: Date;
  rotateRequest: string | undefined;
}): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: KEY_SECRET_TYPE,
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_POLICY]: options.policyName,
        [LABEL_COMPONENT]: 'kek',
      },
      annotations: {
        [ANNOTATION_LAST_ROTATION]: options.now.toISOString(),
        ...(options.rotateRequest === undefined
          ? {}
          : { [ANNOTATION_ROTATE_KEY_HANDLED]: options.rotateRequest }),
      },
      // No ownerReference on purpose: deleting the policy must never garbage-collect the keys.
    },
    data: { v1: encode(randomBytes(KEK_BYTES).toString('base64')), active: encode('v1') },
  };
}

/**
 * The Secret with one more version, made active. Existing versions are copied unchanged: a
 * version, once written, is never overwritten.
 */
export function withNewVersion(
  secret: V1Secret,
  now: Date,
  rotateRequest: string | undefined,
): { secret: V1Secret; version: string } {
  const versions = keyVersions(secret);
  const next = `v${versions.length === 0 ? 1 : Number(versions.at(-1)!.slice(1)) + 1}`;
  return {
    version: next,
    secret: {
      ...secret,
      metadata: {
        ...secret.metadata,
        annotations: {
          ...secret.metadata?.annotations,
          [ANNOTATION_LAST_ROTATION]: now.toISOString(),
          ...(rotateRequest === undefined ? {} : { [ANNOTATION_ROTATE_KEY_HANDLED]: rotateRequest }),
        },
      },
      data: {
        ...secret.data,
        [next]: encode(randomBytes(KEK_BYTES).toString('base64')),
        active: encode(next),
      },
    },
  };
}

/** Versions beyond the newest `retain` (never the active one), oldest first. */
export function versionsToPrune(secret: V1Secret, retain: number | undefined): string[] {
  if (retain === undefined) return [];
  const active = activeVersion(secret);
  const versions = keyVersions(secret);
  return versions.slice(0, Math.max(0, versions.length - retain)).filter((v) => v !== active);
}

export function withoutVersions(secret: V1Secret, pruned: readonly string[]): V1Secret {
  const data = { ...secret.data };
  for (const version of pruned) delete data[version];
  return { ...secret, data };
}

/** "2160h", "90m", "1h30m" in milliseconds; undefined for "" (no scheduled rotation). */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:([0-9]+)h)?(?:([0-9]+)m)?$/.exec(text);
  if (!match || text === '') return undefined;
  const ms = (Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60_000;
  return ms > 0 ? ms : undefined;
}
