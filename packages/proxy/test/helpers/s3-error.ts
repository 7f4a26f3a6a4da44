// What an S3 call that must fail failed with: the error's S3 code and HTTP status.
import { S3ServiceException } from '@aws-sdk/client-s3';

export interface S3Failure {
  readonly name: string;
  readonly status: number | undefined;
}

/** Awaits a call that must fail with an S3 error; any other outcome fails the test. */
export async function s3Error(promise: Promise<unknown>): Promise<S3Failure> {
  try {
    await promise;
  } catch (err: unknown) {
    if (err instanceof S3ServiceException) return { name: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error('expected an S3 error');
}
