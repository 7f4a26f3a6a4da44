import { types } from 'node:util';

/** Stable codes of the errors the rig throws; callers branch on these, not on message text. */
export type RigErrorCode =
  | 'S3SEAL_RIG_BINARY_MISSING'
  | 'S3SEAL_RIG_SERVER_EXITED'
  | 'S3SEAL_RIG_READY_TIMEOUT'
  /** A started server refused a setup call (Vault mounting transit, moto creating a key). */
  | 'S3SEAL_RIG_SERVER_SETUP'
  | 'S3SEAL_RIG_BAD_BACKEND'
  | 'S3SEAL_RIG_NO_CONTAINER_ENGINE'
  | 'S3SEAL_RIG_BAD_VALKEY_URL';

export class RigError extends Error {
  override readonly name: string = 'RigError';

  constructor(
    readonly code: RigErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A server process exited before it was ready, or did not become ready in time. */
export class ServerStartError extends RigError {
  override readonly name: string = 'ServerStartError';

  constructor(
    code: 'S3SEAL_RIG_SERVER_EXITED' | 'S3SEAL_RIG_READY_TIMEOUT',
    message: string,
    /** The server's combined stdout/stderr. */
    readonly logPath: string,
    /** The last lines of that log, also quoted in the message. */
    readonly logTail: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}

/**
 * True for Node's system errors (`err.code` = 'ENOENT', 'ESRCH'...). `instanceof Error` is not
 * used because under jest the error comes from another realm than the test's `Error`.
 */
export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return types.isNativeError(err) && 'code' in err;
}
