import { S3ServiceException } from '@aws-sdk/client-s3';
import { CoreError } from '@s3seal/core';

/** Stable codes of the CLI's own failures (core's are S3SEAL_*, the backend's are S3's error names). */
export type CliErrorCode =
  /** A command line or environment that cannot work (exit code 2). */
  | 'S3SEAL_CLI_USAGE'
  /** The backend's size of an object differs from what its metadata implies. */
  | 'S3SEAL_CLI_STORED_SIZE'
  /** The decrypted body is not the size or MD5 the metadata records. */
  | 'S3SEAL_CLI_PLAINTEXT_MISMATCH'
  /** Something the command does not do (an object too large for one PUT, partial s3seal metadata). */
  | 'S3SEAL_CLI_NOT_SUPPORTED'
  /** A multipart copy failed and its upload could not be aborted either. */
  | 'S3SEAL_CLI_UPLOAD_LEFT';

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One failure as a summary lists it: a stable code and a message for people. */
export interface FailureReason {
  readonly code: string;
  readonly message: string;
}

/**
 * Names a per-object failure. A bulk command records every failure and goes on, so this is
 * where an error of any kind becomes a line of the summary: core's and the CLI's by code, the
 * backend's by S3 error name.
 */
export function describeFailure(err: unknown): FailureReason {
  if (err instanceof CoreError || err instanceof CliError) return { code: err.code, message: err.message };
  if (err instanceof S3ServiceException) {
    // A HEAD's error has no body, so the SDK may name it by status alone.
    if (err.name === 'PreconditionFailed' || err.$metadata.httpStatusCode === 412) {
      return {
        code: 'PreconditionFailed',
        message:
          'the object changed while this command worked on it (its ETag no longer matches); nothing was written over it: re-run to pick up the new version',
      };
    }
    return { code: err.name, message: `${err.message} (HTTP ${err.$metadata.httpStatusCode ?? '?'})` };
  }
  if (err instanceof Error) return { code: err.name, message: err.message };
  return { code: 'Error', message: String(err) };
}
