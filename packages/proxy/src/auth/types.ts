import type { KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Looks up the secret for an access key id; `undefined` means the key is unknown. */
export interface CredentialStore {
  secretFor(accessKeyId: string): string | undefined;
}

/** The request exactly as it arrived, before any URL parsing or re-serialisation. */
export interface RawRequest {
  method: string;
  /** Path exactly as received, before '?', still percent-encoded. */
  rawPath: string;
  /** Exactly as received after '?', '' if none. */
  rawQuery: string;
  /** Node's lower-cased headers (repeated headers already joined with ', '). */
  headers: IncomingHttpHeaders;
  /**
   * Node's `req.headersDistinct`: every value of a repeated header kept apart. Optional, but
   * pass it when you have it: SigV4 joins repeated values with ',' where Node joins them with
   * ', ', so only this form verifies a request that repeats a signed header.
   */
  headersDistinct?: Readonly<Record<string, string[] | undefined>>;
}

/** How the body is protected, from `x-amz-content-sha256`. */
export type PayloadMode =
  'signed' | 'unsigned' | 'streaming-signed' | 'streaming-unsigned-trailer' | 'streaming-signed-trailer';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

/** What the aws-chunked signature chain needs to carry on from the request signature. */
export interface SigningContext {
  /** The request's own signature (lower hex): the "previous signature" of the first chunk. */
  seedSignature: string;
  signingKey: KeyObject;
  /** `yyyymmdd/region/s3/aws4_request` */
  scope: string;
  /** `yyyymmddThhmmssZ`, as signed. */
  amzDate: string;
}

export interface VerifiedRequest {
  accessKeyId: string;
  region: string;
  signedAt: Date;
  isPresigned: boolean;
  payload: PayloadMode;
  /** Lower hex, when payload === 'signed'. */
  payloadSha256?: string;
  /** x-amz-decoded-content-length, for the aws-chunked modes. */
  decodedContentLength?: number;
  /** The checksum named by x-amz-trailer, for the *-trailer modes. */
  trailer?: ChecksumAlgorithm;
  signingContext: SigningContext;
}

export interface VerifyOptions {
  now: Date;
  /** Largest accepted difference between the request time and `now`. Default 15 minutes. */
  maxSkewMs?: number;
  /** Longest accepted X-Amz-Expires. Default 604800 (7 days), S3's own limit. */
  maxPresignedExpirySeconds?: number;
}
