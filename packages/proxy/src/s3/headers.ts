import type { IncomingHttpHeaders } from 'node:http';
import { METADATA_PREFIX } from '@s3seal/core';

/**
 * Which headers cross the proxy, in each direction. Lists, not patterns, so that a header
 * nobody thought about is dropped rather than forwarded: a client's plaintext checksum must
 * never reach the backend as if it described the ciphertext, and the backend's ciphertext
 * checksums must never reach the client.
 */

/** The object's content description: stored with it, returned with it, carried by a COPY. */
export const CONTENT_HEADERS = [
  'content-type',
  'content-encoding',
  'cache-control',
  'content-disposition',
  'content-language',
  'expires',
] as const;

/** Headers of a write that describe the object, not its bytes: forwarded as they are. */
const OBJECT_WRITE_HEADERS: ReadonlySet<string> = new Set([
  ...CONTENT_HEADERS,
  'x-amz-tagging',
  'x-amz-storage-class',
  'x-amz-acl',
  'x-amz-grant-full-control',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write-acp',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
  'x-amz-website-redirect-location',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-context',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-expected-bucket-owner',
  'x-amz-request-payer',
  'if-match',
  'if-none-match',
]);

/** Headers of a read or a request without object data: forwarded as they are. */
const REQUEST_HEADERS: ReadonlySet<string> = new Set([
  ...OBJECT_WRITE_HEADERS,
  'content-md5',
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
  'x-amz-bypass-governance-retention',
  'x-amz-mfa',
  'x-amz-bucket-object-lock-enabled',
  'x-amz-object-ownership',
  'x-amz-copy-source',
  'x-amz-metadata-directive',
  'x-amz-tagging-directive',
  'if-modified-since',
  'if-unmodified-since',
  'x-amz-optional-object-attributes',
]);

/** Headers of an object's response that describe the object, passed to the client. */
const OBJECT_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  ...CONTENT_HEADERS,
  'last-modified',
  'accept-ranges',
  'x-amz-version-id',
  'x-amz-delete-marker',
  'x-amz-storage-class',
  'x-amz-tagging-count',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
  'x-amz-replication-status',
  'x-amz-restore',
  'x-amz-expiration',
  'x-amz-website-redirect-location',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-missing-meta',
]);

/** Everything a pass-through response may carry back (bucket calls, deletes, tagging, errors). */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'x-amz-request-id',
  'x-amz-id-2',
  'server',
  'date',
]);

type HeaderBag = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

function single(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

function withoutAwsChunked(value: string): string {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '' && v.toLowerCase() !== 'aws-chunked')
    .join(',');
}

/** Client metadata (`x-amz-meta-*`) as names without the prefix. Empty values are kept out. */
export function clientMetadata(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-')) continue;
    const text = single(value);
    if (text !== undefined) out[name.slice('x-amz-meta-'.length)] = text;
  }
  return out;
}

function pick(headers: HeaderBag, allowed: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    let text = single(value);
    // aws-chunked is the framing of this request's body, not an encoding of the object.
    if (name === 'content-encoding' && text !== undefined) text = withoutAwsChunked(text);
    // Backends such as Backblaze B2 reject empty optional headers: never forward one.
    if (text === undefined || text === '' || !allowed.has(name)) continue;
    out[name] = text;
  }
  return out;
}

/** Headers for an upstream write of sealed bytes: the object's description, and no checksums. */
export function objectWriteHeaders(headers: HeaderBag): Record<string, string> {
  return pick(headers, OBJECT_WRITE_HEADERS);
}

/** Headers for a request that carries no object data (reads, bucket calls, tagging, deletes). */
export function forwardRequestHeaders(headers: HeaderBag): Record<string, string> {
  const out = pick(headers, REQUEST_HEADERS);
  for (const [name, value] of Object.entries(clientMetadata(headers))) out[`x-amz-meta-${name}`] = value;
  if (headers['range'] !== undefined) out['range'] = single(headers['range'])!;
  return out;
}

/** An object's response headers for the client: its description and its metadata, never s3seal's. */
export function objectResponseHeaders(headers: HeaderBag): Record<string, string> {
  const out = pick(headers, OBJECT_RESPONSE_HEADERS);
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || name.startsWith(`x-amz-meta-${METADATA_PREFIX}`)) continue;
    const text = single(value);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** A pass-through response's headers: all but hop-by-hop ones and the backend's ids. */
export function forwardResponseHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const text = single(value);
    if (text !== undefined && !HOP_BY_HOP.has(name)) out[name] = text;
  }
  return out;
}

/** The object's own user metadata from an upstream response (s3seal's included), for core. */
export function storedMetadata(headers: HeaderBag): Record<string, string> {
  return clientMetadata(headers);
}

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  return single(headers[name]);
}
