/**
 * Parses the SigV4 `Authorization` header and the credential scope and signed-header list it
 * shares with presigned URLs.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 */
import { S3Error } from '../s3/errors.js';

/** The error a malformed field gets: header auth and query auth have their own codes. */
export type AuthFormatErrorCode = 'AuthorizationHeaderMalformed' | 'AuthorizationQueryParametersError';

export interface CredentialScope {
  accessKeyId: string;
  /** yyyymmdd */
  date: string;
  region: string;
  /** `date/region/s3/aws4_request`, as it goes into every string to sign. */
  scope: string;
}

export interface SignatureV4Fields {
  credential: CredentialScope;
  /** Lower-case header names, in the client's order. */
  signedHeaders: string[];
  signature: string;
}

const SERVICE = 's3';
const TERMINATOR = 'aws4_request';

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return text.length > 0;
}

/** `AKID/yyyymmdd/region/s3/aws4_request`. Any region is accepted (the proxy is region-agnostic). */
export function parseCredential(value: string, errorCode: AuthFormatErrorCode): CredentialScope {
  const parts = value.split('/');
  if (parts.length !== 5) {
    throw new S3Error(
      errorCode,
      `The credential '${value}' is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (accessKeyId === '' || region === '') {
    throw new S3Error(errorCode, `The credential '${value}' is malformed.`);
  }
  if (date.length !== 8 || !isDigits(date)) {
    throw new S3Error(
      errorCode,
      `Invalid credential date "${date}". This date is not in the format yyyyMMdd.`,
    );
  }
  if (service !== SERVICE) {
    throw new S3Error(
      errorCode,
      `The credential '${value}' is malformed; incorrect service "${service}". This endpoint belongs to "s3".`,
    );
  }
  if (terminator !== TERMINATOR) {
    throw new S3Error(
      errorCode,
      `The credential '${value}' is malformed; incorrect terminal "${terminator}". This endpoint uses "aws4_request".`,
    );
  }
  return { accessKeyId, date, region, scope: `${date}/${region}/${SERVICE}/${TERMINATOR}` };
}

function isHeaderNameChar(c: number): boolean {
  // RFC 9110 token characters, lower-case only: SigV4 signs lower-cased names.
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x5f ||
    c === 0x2e ||
    c === 0x21 ||
    c === 0x23 ||
    c === 0x24 ||
    c === 0x25 ||
    c === 0x26 ||
    c === 0x27 ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x5e ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
  );
}

/** `host;x-amz-content-sha256;x-amz-date` */
export function parseSignedHeaders(value: string, errorCode: AuthFormatErrorCode): string[] {
  const names = value.split(';');
  const seen = new Set<string>();
  for (const name of names) {
    let ok = name.length > 0 && !seen.has(name);
    for (let i = 0; ok && i < name.length; i++) ok = isHeaderNameChar(name.charCodeAt(i));
    if (!ok) throw new S3Error(errorCode, `The SignedHeaders list '${value}' is malformed.`);
    seen.add(name);
  }
  return names;
}

/**
 * `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>`.
 * The separators are ',' with optional whitespace (the AWS examples use both ", " and ",").
 * The caller has already checked the algorithm prefix.
 */
export function parseAuthorizationHeader(header: string): SignatureV4Fields {
  const space = header.indexOf(' ');
  const fields = new Map<string, string>();
  for (const item of (space === -1 ? '' : header.slice(space + 1)).split(',')) {
    const text = item.trim();
    if (text === '') continue;
    const eq = text.indexOf('=');
    const key = eq === -1 ? text : text.slice(0, eq);
    if (
      eq === -1 ||
      fields.has(key) ||
      (key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature')
    ) {
      throw new S3Error(
        'AuthorizationHeaderMalformed',
        `The authorization header is malformed; unexpected '${key}'.`,
      );
    }
    fields.set(key, text.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.',
    );
  }
  return {
    credential: parseCredential(credential, 'AuthorizationHeaderMalformed'),
    signedHeaders: parseSignedHeaders(signedHeaders, 'AuthorizationHeaderMalformed'),
    signature,
  };
}

/**
 * SigV2 (`AWS AK:sig`, `?Signature=&AWSAccessKeyId=`) and SigV4A (`AWS4-ECDSA-P256-SHA256`) are
 * refused with the answer S3 gives in regions without SigV2.
 */
export function unsupportedAuthMechanism(): S3Error {
  return new S3Error(
    'InvalidRequest',
    'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
  );
}
