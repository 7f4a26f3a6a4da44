import { CoreError } from '@s3seal/core';

/** The key manager could not be reached, timed out or failed on its side: retry later (503). */
export function unavailable(manager: string, what: string, cause?: unknown): CoreError {
  return new CoreError('S3SEAL_KEY_PROVIDER_UNAVAILABLE', `${manager} is unavailable: ${what}`, { cause });
}

/** The key manager refused (credentials, policy, a disabled or missing key): fix the setup (403). */
export function denied(manager: string, what: string, cause?: unknown): CoreError {
  return new CoreError('S3SEAL_KEY_PROVIDER_DENIED', `${manager} refused: ${what}`, { cause });
}

/** The wrapped key does not open in this context: the object or its metadata was altered. */
export function unwrapFailed(manager: string, cause?: unknown): CoreError {
  return new CoreError(
    'S3SEAL_KEY_UNWRAP_FAILED',
    `the data key did not unwrap with ${manager}: the object metadata was altered, or it belongs to another bucket or key`,
    { cause },
  );
}

/** A short description of a network-level failure (ECONNREFUSED, a timeout) without a stack. */
export function describeFailure(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const inner = cause instanceof Error ? `: ${describeFailure(cause)}` : '';
    return `${typeof code === 'string' ? `${code} ` : ''}${err.message}${inner}`;
  }
  return String(err);
}
