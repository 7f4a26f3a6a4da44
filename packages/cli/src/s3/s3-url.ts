import { CliError } from '../errors.js';

/** A bucket and a key or key prefix, as `s3://bucket/key` names them. */
export interface S3Location {
  readonly bucket: string;
  /** The object key, or the prefix (possibly empty) of a bulk command. */
  readonly key: string;
}

/** Parses `s3://bucket[/key]`; the key is taken as written (no decoding), as the aws CLI does. */
export function parseS3Url(text: string, options: { isKeyRequired: boolean }): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/s.exec(text);
  if (!m) throw new CliError('S3SEAL_CLI_USAGE', `${JSON.stringify(text)} is not an s3://bucket/key URL`);
  const bucket = m[1]!;
  const key = m[2] ?? '';
  if (options.isKeyRequired && key === '') {
    throw new CliError('S3SEAL_CLI_USAGE', `${text} names a bucket but no object key`);
  }
  return { bucket, key };
}

export function formatS3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
