/**
 * Authenticates a request signed with SigV4, in the Authorization header or as a presigned
 * URL, and says what its body promises. The body itself is checked by the payload verifier.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 */
import { S3Error } from '../s3/errors.js';
import { parseAmzDate, toAmzDate } from './amz-date.js';
import {
  buildCanonicalRequest,
  canonicalQueryString,
  canonicalUris,
  parseQuery,
  type QueryParam,
} from './canonical-request.js';
import { parseByteCount } from './declared-length.js';
import {
  parseAuthorizationHeader,
  unsupportedAuthMechanism,
  type SignatureV4Fields,
} from './parse-authorization.js';
import {
  hasSignedChunks,
  hasTrailer,
  isAwsChunked,
  parsePayloadDeclaration,
  parseTrailerDeclaration,
  UNSIGNED_PAYLOAD,
} from './payload-mode.js';
import { isPresignedV2, isPresignedV4, parsePresigned, PRESIGNED_SIGNATURE_PARAM } from './presigned.js';
import { deriveSigningKey, isSameSignature, signatureOf } from './signing-key.js';
import { requestStringToSign, SIGV4_ALGORITHM } from './string-to-sign.js';
import type { CredentialStore, RawRequest, VerifiedRequest, VerifyOptions } from './types.js';

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
/** S3's own ceiling for X-Amz-Expires: seven days. */
const DEFAULT_MAX_PRESIGNED_EXPIRY_SECONDS = 604_800;

function headerText(req: RawRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function verifyRequest(
  req: RawRequest,
  credentials: CredentialStore,
  options: VerifyOptions,
): VerifiedRequest {
  const params = parseQuery(req.rawQuery);
  const authorization = headerText(req, 'authorization');
  const isPresigned = isPresignedV4(params);
  if (authorization !== undefined) {
    if (isPresigned || isPresignedV2(params)) {
      throw new S3Error(
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified.',
      );
    }
    return verifyHeaderAuth(req, params, authorization, credentials, options);
  }
  if (isPresigned) return verifyPresigned(req, params, credentials, options);
  if (isPresignedV2(params)) throw unsupportedAuthMechanism();
  throw new S3Error(
    'AccessDenied',
    'Anonymous requests are not accepted; sign them with AWS Signature Version 4.',
  );
}

function verifyHeaderAuth(
  req: RawRequest,
  params: readonly QueryParam[],
  authorization: string,
  credentials: CredentialStore,
  options: VerifyOptions,
): VerifiedRequest {
  // The scheme is the text before the first space; SigV2 is "AWS", SigV4A "AWS4-ECDSA-P256-SHA256".
  const space = authorization.indexOf(' ');
  if ((space === -1 ? authorization : authorization.slice(0, space)) !== SIGV4_ALGORITHM) {
    throw unsupportedAuthMechanism();
  }
  const fields = parseAuthorizationHeader(authorization);

  // x-amz-date wins over Date; with Date the string to sign still carries the ISO 8601 basic form.
  const amzDateHeader = headerText(req, 'x-amz-date');
  const dateHeader = headerText(req, 'date');
  let signedAt: Date | undefined;
  if (amzDateHeader !== undefined) {
    signedAt = parseAmzDate(amzDateHeader.trim());
  } else if (dateHeader !== undefined) {
    const ms = Date.parse(dateHeader);
    signedAt = Number.isNaN(ms) ? undefined : new Date(ms);
  }
  if (signedAt === undefined) {
    throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  const amzDate = toAmzDate(signedAt);
  if (fields.credential.date !== amzDate.slice(0, 8)) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; Invalid credential date "${fields.credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const secret = secretFor(credentials, fields.credential.accessKeyId);

  const skewMs = Math.abs(options.now.getTime() - signedAt.getTime());
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (skewMs > maxSkewMs) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      fields: {
        RequestTime: amzDateHeader ?? dateHeader ?? amzDate,
        ServerTime: options.now.toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkewMs),
      },
    });
  }
  requireSignedHeaders(req, fields.signedHeaders);

  const contentSha256 = headerText(req, 'x-amz-content-sha256');
  if (contentSha256 === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  return finish(req, fields, {
    secret,
    amzDate,
    signedAt,
    payloadHash: contentSha256,
    canonicalQuery: canonicalQueryString(params),
    isPresigned: false,
  });
}

function verifyPresigned(
  req: RawRequest,
  params: readonly QueryParam[],
  credentials: CredentialStore,
  options: VerifyOptions,
): VerifiedRequest {
  const fields = parsePresigned(
    params,
    options.maxPresignedExpirySeconds ?? DEFAULT_MAX_PRESIGNED_EXPIRY_SECONDS,
  );
  const secret = secretFor(credentials, fields.credential.accessKeyId);

  const nowMs = options.now.getTime();
  const signedMs = fields.signedAt.getTime();
  if (signedMs - nowMs > (options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS)) {
    throw new S3Error('AccessDenied', 'Request is not valid yet');
  }
  if (nowMs > signedMs + fields.expiresSeconds * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      fields: {
        'X-Amz-Expires': String(fields.expiresSeconds),
        Expires: new Date(signedMs + fields.expiresSeconds * 1000).toISOString(),
        ServerTime: options.now.toISOString(),
      },
    });
  }
  requireSignedHeaders(req, fields.signedHeaders);

  // A presigned URL signs UNSIGNED-PAYLOAD unless it carries X-Amz-Content-Sha256.
  const payloadHash = fields.payloadHash ?? headerText(req, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
  return finish(req, fields, {
    secret,
    amzDate: fields.amzDate,
    signedAt: fields.signedAt,
    payloadHash,
    canonicalQuery: canonicalQueryString(params, PRESIGNED_SIGNATURE_PARAM),
    isPresigned: true,
  });
}

function secretFor(credentials: CredentialStore, accessKeyId: string): string {
  const secret = credentials.secretFor(accessKeyId);
  if (secret === undefined) {
    throw new S3Error('InvalidAccessKeyId', undefined, { fields: { AWSAccessKeyId: accessKeyId } });
  }
  return secret;
}

/**
 * `host` must be signed, and so must every x-amz-* header present: otherwise anyone on the path
 * could add x-amz-copy-source, x-amz-meta-* or SSE-C headers to a signed request. S3 answers
 * AccessDenied with the unsigned names in HeadersNotSigned.
 */
function requireSignedHeaders(req: RawRequest, signedHeaders: readonly string[]): void {
  const signed = new Set(signedHeaders);
  const unsigned: string[] = [];
  if (!signed.has('host')) unsigned.push('host');
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && !signed.has(name)) unsigned.push(name);
  }
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      fields: { HeadersNotSigned: unsigned.join(', ') },
    });
  }
}

interface SigningInputs {
  secret: string;
  amzDate: string;
  signedAt: Date;
  payloadHash: string;
  canonicalQuery: string;
  isPresigned: boolean;
}

function finish(req: RawRequest, fields: SignatureV4Fields, inputs: SigningInputs): VerifiedRequest {
  const { credential } = fields;
  const declaration = parsePayloadDeclaration(inputs.payloadHash);
  if (inputs.isPresigned && hasSignedChunks(declaration.mode)) {
    throw new S3Error('InvalidRequest', 'Signed aws-chunked payloads cannot be sent with a presigned URL.');
  }
  const signingKey = deriveSigningKey(inputs.secret, credential.date, credential.region, 's3');

  let firstStringToSign = '';
  let matched: string | undefined;
  for (const canonicalUri of canonicalUris(req.rawPath)) {
    const canonicalRequest = buildCanonicalRequest(req, {
      method: req.method,
      canonicalUri,
      canonicalQuery: inputs.canonicalQuery,
      signedHeaders: fields.signedHeaders,
      payloadHash: inputs.payloadHash,
    });
    const stringToSign = requestStringToSign(inputs.amzDate, credential.scope, canonicalRequest);
    const signature = signatureOf(signingKey, stringToSign);
    if (firstStringToSign === '') firstStringToSign = stringToSign;
    if (isSameSignature(signature, fields.signature)) {
      matched = signature;
      break;
    }
  }
  if (matched === undefined) {
    // S3 also returns the canonical request; we do not, as it can hold signed secrets (SSE-C
    // keys, security tokens) that would then reach logs. Its hash is in the string to sign.
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      fields: {
        AWSAccessKeyId: credential.accessKeyId,
        StringToSign: firstStringToSign,
        SignatureProvided: fields.signature,
      },
    });
  }

  const verified: VerifiedRequest = {
    accessKeyId: credential.accessKeyId,
    region: credential.region,
    signedAt: inputs.signedAt,
    isPresigned: inputs.isPresigned,
    payload: declaration.mode,
    signingContext: { seedSignature: matched, signingKey, scope: credential.scope, amzDate: inputs.amzDate },
  };
  if (declaration.sha256 !== undefined) verified.payloadSha256 = declaration.sha256;
  if (isAwsChunked(declaration.mode)) {
    const decoded = parseByteCount(
      req.headers['x-amz-decoded-content-length'],
      'x-amz-decoded-content-length',
    );
    if (decoded !== undefined) verified.decodedContentLength = decoded;
  }
  if (hasTrailer(declaration.mode))
    verified.trailer = parseTrailerDeclaration(headerText(req, 'x-amz-trailer'));
  return verified;
}
