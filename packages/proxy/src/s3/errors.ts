/**
 * The one table of S3 errors the proxy answers with: internal key → S3's own code, HTTP
 * status and a default message. Handlers throw `new S3Error('InvalidRange', detail)`; one
 * renderer (s3/error-response.ts) turns any error into S3's XML. Codes and statuses follow
 * https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html; docs/ERRORS.md lists
 * every entry (a unit test keeps the two in step).
 */
export const S3_ERRORS = {
  AccessDenied: { status: 403, message: 'Access Denied' },
  AuthorizationHeaderMalformed: { status: 400, message: 'The authorization header is malformed.' },
  AuthorizationQueryParametersError: {
    status: 400,
    message: 'The presigned URL query parameters are malformed.',
  },
  BadDigest: { status: 400, message: 'The Content-MD5 you specified did not match what we received.' },
  EntityTooLarge: { status: 400, message: 'Your proposed upload exceeds the maximum allowed object size.' },
  EntityTooSmall: {
    status: 400,
    message: 'Your proposed upload is smaller than the minimum allowed object size.',
  },
  IncompleteBody: {
    status: 400,
    message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.',
  },
  InternalError: { status: 500, message: 'We encountered an internal error. Please try again.' },
  InvalidAccessKeyId: {
    status: 403,
    message: 'The AWS access key ID you provided does not exist in our records.',
  },
  InvalidArgument: { status: 400, message: 'Invalid argument.' },
  InvalidDigest: { status: 400, message: 'The Content-MD5 or checksum value you specified is not valid.' },
  InvalidEncryptionAlgorithmError: {
    status: 400,
    message: 'The encryption request you specified is not valid.',
  },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartNumber: { status: 416, message: 'The requested partnumber is not satisfiable.' },
  InvalidPartOrder: {
    status: 400,
    message: 'The list of parts was not in ascending order. Parts must be ordered by part number.',
  },
  InvalidObjectState: {
    status: 403,
    message: 'The operation is not valid for the current state of the object.',
  },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  InvalidRange: { status: 416, message: 'The requested range is not satisfiable.' },
  InvalidRequest: { status: 400, message: 'Invalid request.' },
  MalformedXML: {
    status: 400,
    message: 'The XML you provided was not well-formed or did not validate against our published schema.',
  },
  MaxMessageLengthExceeded: { status: 400, message: 'Your request was too big.' },
  MetadataTooLarge: {
    status: 400,
    message: 'Your metadata headers exceed the maximum allowed metadata size.',
  },
  MethodNotAllowed: { status: 405, message: 'The specified method is not allowed against this resource.' },
  MissingContentLength: { status: 411, message: 'You must provide the Content-Length HTTP header.' },
  MissingSecurityHeader: { status: 400, message: 'Your request is missing a required header.' },
  NoSuchBucket: { status: 404, message: 'The specified bucket does not exist.' },
  NoSuchKey: { status: 404, message: 'The specified key does not exist.' },
  NoSuchUpload: {
    status: 404,
    message:
      'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.',
  },
  NotImplemented: {
    status: 501,
    message: 'A header you provided implies functionality that is not implemented.',
  },
  PreconditionFailed: {
    status: 412,
    message: 'At least one of the preconditions you specified did not hold.',
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: 'The difference between the request time and the server time is too large.',
  },
  RequestTimeout: {
    status: 400,
    message:
      'Your socket connection to the server was not read from or written to within the timeout period.',
  },
  ServiceUnavailable: { status: 503, message: 'Service is unable to handle request.' },
  SignatureDoesNotMatch: {
    status: 403,
    message: 'The request signature we calculated does not match the signature you provided.',
  },
  SlowDown: { status: 503, message: 'Please reduce your request rate.' },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
  XAmzContentChecksumMismatch: {
    status: 400,
    message: 'The provided checksum does not match what was computed.',
  },
  // s3seal's own conditions, with S3-style codes so every client can show them.
  ObjectNotEncrypted: {
    status: 403,
    message: 'The object was not written through s3seal and S3SEAL_LEGACY=reject refuses plaintext objects.',
  },
  DecryptionFailed: {
    status: 500,
    message: 'The stored object failed authentication: it was altered or truncated in the backend.',
  },
  KeyUnavailable: {
    status: 500,
    message: 'The key-encryption key this object needs is not available to the proxy.',
  },
  UpstreamUnavailable: { status: 503, message: 'The upstream S3 service could not be reached.' },
  // Like S3's KMS.* errors for SSE-KMS: the key manager is a dependency of every encrypted
  // request, so its outage is a 503 to retry and its refusal a 403 naming the key manager.
  KeyManagerUnavailable: {
    status: 503,
    message: 'The key manager that wraps data keys could not be reached; retry later.',
  },
  KeyManagerAccessDenied: {
    status: 403,
    message: 'The key manager refused the proxy access to the key this request needs.',
  },
} as const;

export type S3ErrorCode = keyof typeof S3_ERRORS;

export class S3Error extends Error {
  override readonly name = 'S3Error';
  /** One of S3_ERRORS, or (for an upstream error relayed as is) the backend's own code. */
  readonly code: string;
  readonly status: number;
  /** Extra XML elements S3 includes for some codes (e.g. StringToSign, ServerTime). */
  readonly fields: Readonly<Record<string, string>>;

  constructor(
    code: S3ErrorCode,
    detail?: string,
    options?: { cause?: unknown; fields?: Record<string, string>; status?: number },
  ) {
    super(
      detail ?? S3_ERRORS[code].message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.status = options?.status ?? S3_ERRORS[code].status;
    this.fields = options?.fields ?? {};
  }
}

/** An error the backend answered, relayed to the client with its own code and status. */
export function upstreamS3Error(code: string, status: number, message: string): S3Error {
  const known = code in S3_ERRORS ? (code as S3ErrorCode) : 'InternalError';
  const err = new S3Error(known, message, { status });
  if (known !== code) Object.defineProperty(err, 'code', { value: code });
  return err;
}

export function isS3Error(err: unknown, code?: S3ErrorCode): err is S3Error {
  return err instanceof S3Error && (code === undefined || err.code === code);
}
