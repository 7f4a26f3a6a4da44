import type { WrapScheme } from '../format/metadata.js';

/**
 * What a data key is wrapped for: the object's bucket and the digest of its bound metadata
 * (docs/FORMAT.md §1). The local keyring folds only the digest into its wrap key, so raw copies
 * between buckets keep opening; external key managers also bind the bucket (as an AWS KMS
 * encryption context and as Vault Transit associated data), which is what their audit logs and
 * key policies can see and condition on.
 */
export interface WrapContext {
  readonly bucket: string;
  readonly bindingDigest: Buffer;
}

/** A data key as a key source wrapped it: the key version it used and the opaque wrapped bytes. */
export interface WrappedDataKey {
  /** `v<N>` for the keyring and Vault Transit; the key ARN for AWS KMS. */
  readonly version: string;
  readonly wrapped: Buffer;
}

/**
 * One place data keys are wrapped: the local keyring (`kwp`), a Vault/OpenBao Transit key or an
 * AWS KMS key. Each object records the source's `id` and the version it used, so a proxy that
 * knows several sources (a policy moving from one to another) opens every object with the one
 * that sealed it. Implementations that call a server throw S3SEAL_KEY_PROVIDER_UNAVAILABLE when
 * it cannot be reached and S3SEAL_KEY_PROVIDER_DENIED when it refuses; never a fallback.
 */
export interface KeySource {
  /** Recorded in each object (`s3seal-kek: <id>:<version>`); DNS-like, no colon. */
  readonly id: string;
  readonly scheme: WrapScheme;
  /** Wraps a data key under the source's active key version. */
  wrap(dek: Buffer, context: WrapContext): Promise<WrappedDataKey>;
  /**
   * A fresh data key and its wrapped form in one call (KMS GenerateDataKey). Sources without it
   * get a random key from the caller, then `wrap`.
   */
  generate?(context: WrapContext): Promise<WrappedDataKey & { readonly dek: Buffer }>;
  /** Recovers a data key; S3SEAL_KEY_UNWRAP_FAILED when the context or bytes do not match. */
  unwrap(key: WrappedDataKey, context: WrapContext): Promise<Buffer>;
  /**
   * Re-wraps under the active version without the data key leaving the key manager (Vault's
   * `rewrap`); only for the same context. Sources without it are re-wrapped by unwrap + wrap.
   */
  rewrap?(key: WrappedDataKey, context: WrapContext): Promise<WrappedDataKey>;
  /** Whether a version is the one new data keys are wrapped with now (a rewrap would change nothing). */
  isActiveVersion(version: string): boolean;
}

/** The sources a proxy can open objects with, and the one it seals new objects with. */
export interface KeySources {
  readonly active: KeySource;
  source(id: string): KeySource | undefined;
}

/** Sources by id; the active one must be among them. */
export class KeySourceSet implements KeySources {
  private readonly byId: ReadonlyMap<string, KeySource>;

  constructor(
    readonly active: KeySource,
    others: Iterable<KeySource> = [],
  ) {
    const byId = new Map<string, KeySource>([[active.id, active]]);
    for (const source of others) {
      if (byId.has(source.id) && byId.get(source.id) !== source) {
        throw new Error(`two key sources are named ${source.id}`);
      }
      byId.set(source.id, source);
    }
    this.byId = byId;
  }

  source(id: string): KeySource | undefined {
    return this.byId.get(id);
  }

  all(): KeySource[] {
    return [...this.byId.values()];
  }
}

const BUCKET_FIELD = 's3seal:bucket';
const BINDING_FIELD = 's3seal:binding';
const AAD_LABEL = Buffer.from('s3seal/1 external wrap\0', 'latin1');

/**
 * The context as an AWS KMS encryption context: the bucket in clear (CloudTrail shows it, key
 * policies can match `kms:EncryptionContext:s3seal:bucket`) and the binding digest, which covers
 * the object key without revealing it.
 */
export function encryptionContextOf(context: WrapContext): Record<string, string> {
  return { [BUCKET_FIELD]: context.bucket, [BINDING_FIELD]: context.bindingDigest.toString('base64url') };
}

/** The context as associated data for an AEAD key manager (Vault Transit `associated_data`). */
export function associatedDataOf(context: WrapContext): Buffer {
  const bucket = Buffer.from(context.bucket, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bucket.length);
  return Buffer.concat([AAD_LABEL, length, bucket, context.bindingDigest]);
}
