/**
 * Reads the SigV4 query parameters of a presigned URL.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { S3Error } from '../s3/errors.js';
import { parseAmzDate } from './amz-date.js';
import type { QueryParam } from './canonical-request.js';
import type { SignatureV4Fields } from './parse-authorization.js';
import { parseCredential, parseSignedHeaders, unsupportedAuthMechanism } from './parse-authorization.js';
import { SIGV4_ALGORITHM } from './string-to-sign.js';

export const PRESIGNED_SIGNATURE_PARAM = 'X-Amz-Signature';

export interface PresignedFields extends SignatureV4Fields {
  amzDate: string;
  signedAt: Date;
  expiresSeconds: number;
  /** X-Amz-Content-Sha256 when given (the JS SDK v3 presigner sends it lower-cased). */
  payloadHash?: string;
}

const REQUIRED = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  PRESIGNED_SIGNATURE_PARAM,
] as const;
type RequiredParam = (typeof REQUIRED)[number];
const REQUIRED_SET: ReadonlySet<string> = new Set(REQUIRED);
const CONTENT_SHA256_PARAM = 'x-amz-content-sha256';

export function isPresignedV4(params: readonly QueryParam[]): boolean {
  return params.some((p) => p.name === 'X-Amz-Algorithm');
}

/** SigV2 query authentication: `?AWSAccessKeyId=...&Signature=...&Expires=...`. */
export function isPresignedV2(params: readonly QueryParam[]): boolean {
  return params.some((p) => p.name === 'AWSAccessKeyId') && params.some((p) => p.name === 'Signature');
}

function queryError(detail: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', detail);
}

export function parsePresigned(params: readonly QueryParam[], maxExpirySeconds: number): PresignedFields {
  const found = new Map<string, string>();
  let payloadHash: string | undefined;
  for (const p of params) {
    if (REQUIRED_SET.has(p.name)) {
      if (found.has(p.name)) throw queryError(`The query parameter ${p.name} is repeated.`);
      found.set(p.name, p.value);
    } else if (p.name.toLowerCase() === CONTENT_SHA256_PARAM) {
      if (payloadHash !== undefined) {
        throw queryError('The query parameter X-Amz-Content-Sha256 is repeated.');
      }
      payloadHash = p.value;
    }
  }
  const get = (name: RequiredParam): string => {
    const value = found.get(name);
    if (value === undefined) {
      throw queryError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    return value;
  };

  const algorithm = get('X-Amz-Algorithm');
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') throw unsupportedAuthMechanism();
  if (algorithm !== SIGV4_ALGORITHM) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256".');

  const credential = parseCredential(get('X-Amz-Credential'), 'AuthorizationQueryParametersError');
  const amzDate = get('X-Amz-Date');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) {
    throw queryError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'".`);
  }
  if (credential.date !== amzDate.slice(0, 8)) {
    throw queryError(
      `Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const expires = get('X-Amz-Expires');
  if (!/^\d{1,10}$/.test(expires)) throw queryError('X-Amz-Expires should be a number.');
  const expiresSeconds = Number(expires);
  if (expiresSeconds > maxExpirySeconds) {
    throw queryError(
      maxExpirySeconds === 604_800
        ? 'X-Amz-Expires must be less than a week (in seconds) that is 604800'
        : `X-Amz-Expires must be at most ${maxExpirySeconds} seconds.`,
    );
  }
  const fields: PresignedFields = {
    credential,
    signedHeaders: parseSignedHeaders(get('X-Amz-SignedHeaders'), 'AuthorizationQueryParametersError'),
    signature: get(PRESIGNED_SIGNATURE_PARAM),
    amzDate,
    signedAt,
    expiresSeconds,
  };
  if (payloadHash !== undefined) fields.payloadHash = payloadHash;
  return fields;
}
