/**
 * What `x-amz-content-sha256` and `x-amz-trailer` promise about the body.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
 */
import { S3Error } from '../s3/errors.js';
import { checksumAlgorithmOfHeader } from './checksums.js';
import { unsupportedAuthMechanism } from './parse-authorization.js';
import type { ChecksumAlgorithm, PayloadMode } from './types.js';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const LITERAL_MODES: ReadonlyMap<string, PayloadMode> = new Map([
  [UNSIGNED_PAYLOAD, 'unsigned'],
  ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'streaming-signed'],
  ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'streaming-unsigned-trailer'],
  ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'streaming-signed-trailer'],
]);
const SIGV4A_MODES: ReadonlySet<string> = new Set([
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
]);

function isLowerOrUpperHex64(value: string): boolean {
  if (value.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}

export interface PayloadDeclaration {
  mode: PayloadMode;
  /** Lower hex, for 'signed'. */
  sha256?: string;
}

export function parsePayloadDeclaration(value: string): PayloadDeclaration {
  const mode = LITERAL_MODES.get(value);
  if (mode !== undefined) return { mode };
  if (isLowerOrUpperHex64(value)) return { mode: 'signed', sha256: value.toLowerCase() };
  if (SIGV4A_MODES.has(value)) throw unsupportedAuthMechanism();
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { fields: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value } },
  );
}

export function isAwsChunked(mode: PayloadMode): boolean {
  return mode.startsWith('streaming-');
}

export function hasSignedChunks(mode: PayloadMode): boolean {
  return mode === 'streaming-signed' || mode === 'streaming-signed-trailer';
}

export function hasTrailer(mode: PayloadMode): boolean {
  return mode === 'streaming-unsigned-trailer' || mode === 'streaming-signed-trailer';
}

/** `x-amz-trailer: x-amz-checksum-crc32`: S3 takes exactly one trailing checksum. */
export function parseTrailerDeclaration(value: string | undefined): ChecksumAlgorithm {
  const algorithm = value === undefined ? undefined : checksumAlgorithmOfHeader(value.trim());
  if (algorithm === undefined) {
    throw new S3Error(
      'InvalidRequest',
      value === undefined
        ? 'A trailing payload needs an x-amz-trailer header naming its checksum.'
        : `The value specified in the x-amz-trailer header is not supported: '${value}'.`,
    );
  }
  return algorithm;
}
