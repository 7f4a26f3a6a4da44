/**
 * Typed errors of the core layer. Callers branch on `code` (stable, documented in
 * docs/FORMAT.md) or `instanceof`, never on message text. The proxy maps each code to an S3
 * error in one table.
 */
export type CoreErrorCode =
  /** The object's s3seal metadata is missing, malformed or of an unknown version. */
  | 'S3SEAL_METADATA_INVALID'
  /** The object was written with a KEK version this keyring does not hold. */
  | 'S3SEAL_KEY_VERSION_UNKNOWN'
  /** The object was written under a different keyring id. */
  | 'S3SEAL_KEYRING_MISMATCH'
  /** The wrapped data key did not unwrap: wrong KEK, or tampered metadata. */
  | 'S3SEAL_KEY_UNWRAP_FAILED'
  /** A chunk failed authentication, or the ciphertext is truncated, reordered or extended. */
  | 'S3SEAL_CIPHERTEXT_INVALID'
  /** A keyring source (files, environment) is unusable. */
  | 'S3SEAL_KEYRING_INVALID'
  /** An external key manager (Vault Transit, AWS KMS) could not be reached or failed. */
  | 'S3SEAL_KEY_PROVIDER_UNAVAILABLE'
  /** An external key manager refused the request (credentials, policy, disabled key). */
  | 'S3SEAL_KEY_PROVIDER_DENIED'
  /** User metadata plus s3seal's own would exceed S3's 2 KiB limit. */
  | 'S3SEAL_METADATA_TOO_LARGE'
  /** A client tried to set metadata under s3seal's reserved prefix. */
  | 'S3SEAL_METADATA_RESERVED'
  /** A byte range that does not fit the object. */
  | 'S3SEAL_RANGE_NOT_SATISFIABLE'
  /** Arguments outside what the format allows (chunk size, sizes, algorithm). */
  | 'S3SEAL_FORMAT_ARGUMENT';

export class CoreError extends Error {
  override readonly name = 'CoreError';
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isCoreError(err: unknown, code?: CoreErrorCode): err is CoreError {
  return err instanceof CoreError && (code === undefined || err.code === code);
}
