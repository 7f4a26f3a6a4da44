import { specSchema } from './schema.js';
import type { EncryptionPolicy, EncryptionPolicySpec, ObjectMeta } from './types.js';

interface SchemaNode {
  readonly type?: string;
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
}

/**
 * Fills in schema defaults the way the apiserver does for a structural schema: a missing
 * field with a default gets it, then defaulting continues inside objects (so `default: {}`
 * on an object brings its fields' defaults along). Used where a policy does not come from the
 * API (unit tests, `s3seal` CLI previews); the CRD test checks the apiserver agrees.
 */
export function applyDefaults<T>(schema: SchemaNode, value: unknown): T {
  let out = value === undefined && schema.default !== undefined ? structuredClone(schema.default) : value;
  if (schema.properties && out !== null && typeof out === 'object' && !Array.isArray(out)) {
    const record: Record<string, unknown> = { ...(out as Record<string, unknown>) };
    for (const [key, child] of Object.entries(schema.properties)) {
      const next = applyDefaults<unknown>(child, record[key]);
      if (next !== undefined) record[key] = next;
    }
    out = record;
  }
  return out as T;
}

/** A policy as the apiserver would store it, from a spec as a user writes it. */
export function policyWithDefaults(metadata: ObjectMeta, spec: Record<string, unknown>): EncryptionPolicy {
  return {
    apiVersion: 's3seal.io/v1alpha1',
    kind: 'EncryptionPolicy',
    metadata,
    spec: applyDefaults<EncryptionPolicySpec>(specSchema, spec),
  };
}

export type KeySource = NonNullable<EncryptionPolicySpec['key']['source']>;

/**
 * The source that wraps new data keys. `key.source` is optional so policies written before
 * it existed keep their meaning: a policy naming only `key.existingSecret` uses that Secret,
 * any other the managed keyring.
 */
export function effectiveKeySource(spec: EncryptionPolicySpec): KeySource {
  return spec.key.source ?? (spec.key.existingSecret ? 'ExistingSecret' : 'Managed');
}

/** Whether new objects are wrapped by an external key manager (Vault Transit, AWS KMS). */
export function isExternalKeySource(source: KeySource): source is 'VaultTransit' | 'AWSKMS' {
  return source === 'VaultTransit' || source === 'AWSKMS';
}
