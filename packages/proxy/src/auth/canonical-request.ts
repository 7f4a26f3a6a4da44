/**
 * The SigV4 canonical request, built from the request exactly as it arrived.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#create-canonical-request
 *
 * S3 is the one service that neither normalises the path (`//`, `.` and `..` stay) nor
 * encodes it twice, so the canonical URI is the path the client sent. See `canonicalUris` for
 * the one re-encoding we also try.
 */
import type { RawRequest } from './types.js';

/** 1 for the bytes SigV4 leaves unencoded: A-Z a-z 0-9 - . _ ~ */
const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  UNRESERVED[c.charCodeAt(0)] = 1;
}
/** '%XX' (upper-case hex, as SigV4 requires) for every byte. */
const PERCENT: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
);
/** Value of a hex digit byte, -1 otherwise. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  const hex = i.toString(16);
  HEX_VALUE[hex.charCodeAt(0)] = i;
  HEX_VALUE[hex.toUpperCase().charCodeAt(0)] = i;
}
const WHITESPACE_RUN = /\s+/g;

/** SigV4's UriEncode(): every byte but the unreserved ones as %XX. */
export function uriEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += UNRESERVED[b] === 1 ? String.fromCharCode(b) : PERCENT[b]!;
  return out;
}

/**
 * Percent-decodes to bytes. A '%' not followed by two hex digits stays literal (as S3 and
 * Go's lenient decoders do) rather than failing the request; characters outside ASCII (never
 * from Node's parser, but present in the AWS test vectors) count as their UTF-8 bytes.
 */
export function percentDecode(text: string, isPlusSpace: boolean): Buffer {
  const src = Buffer.from(text, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length) {
      const hi = HEX_VALUE[src[i + 1]!]!;
      const lo = HEX_VALUE[src[i + 2]!]!;
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = b === 0x2b && isPlusSpace ? 0x20 : b;
  }
  return out.subarray(0, n);
}

export interface QueryParam {
  /** Decoded name and value (UTF-8). */
  name: string;
  value: string;
  /** Name and value as they appear in the canonical query string. */
  canonicalName: string;
  canonicalValue: string;
}

/**
 * Splits the raw query on '&' and decodes each name and value. '+' means a space, as in
 * S3's (and minio's) form decoding; SDKs always send a literal plus as %2B.
 */
export function parseQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery === '') return params;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const nameBytes = percentDecode(eq === -1 ? part : part.slice(0, eq), true);
    const valueBytes = percentDecode(eq === -1 ? '' : part.slice(eq + 1), true);
    params.push({
      name: nameBytes.toString('utf8'),
      value: valueBytes.toString('utf8'),
      canonicalName: uriEncodeBytes(nameBytes),
      canonicalValue: uriEncodeBytes(valueBytes),
    });
  }
  return params;
}

/** Sorted by encoded name, then encoded value (both ASCII, so code-unit order is byte order). */
export function canonicalQueryString(params: readonly QueryParam[], excludeName?: string): string {
  const kept = params.filter((p) => p.name !== excludeName);
  kept.sort((a, b) =>
    a.canonicalName < b.canonicalName
      ? -1
      : a.canonicalName > b.canonicalName
        ? 1
        : a.canonicalValue < b.canonicalValue
          ? -1
          : a.canonicalValue > b.canonicalValue
            ? 1
            : 0,
  );
  return kept.map((p) => `${p.canonicalName}=${p.canonicalValue}`).join('&');
}

/** True when every '%' starts a valid %XX escape and there is no '+' whose meaning could differ. */
function isUnambiguousPath(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2b) return false;
    if (
      c === 0x25 &&
      (HEX_VALUE[path.charCodeAt(i + 1) & 0xff]! < 0 || HEX_VALUE[path.charCodeAt(i + 2) & 0xff]! < 0)
    ) {
      return false;
    }
  }
  return true;
}

/**
 * The canonical URIs to try, best first. First the path as sent: every AWS SDK encodes each
 * key segment exactly as SigV4 does, so this is what they signed. Second, the path decoded and
 * re-encoded segment by segment: S3 computes this form, so a client that sends `$` or a space
 * raw but signs `%24`/`%20` (the AWS S3 documentation's own PUT example does) still verifies.
 * Both forms decode to the same bytes, so they name the same object; '%2F' inside a segment
 * stays '%2F', and nothing is normalised. The second form is only tried when the decoding
 * cannot be read two ways: no '+' (a space to some decoders) and no stray '%'.
 */
export function canonicalUris(rawPath: string): string[] {
  const asSent = rawPath === '' ? '/' : rawPath;
  if (!isUnambiguousPath(asSent)) return [asSent];
  const reEncoded = asSent
    .split('/')
    .map((segment) => uriEncodeBytes(percentDecode(segment, false)))
    .join('/');
  return reEncoded === asSent ? [asSent] : [asSent, reEncoded];
}

/**
 * The value SigV4 signs for one header: each value trimmed with inner whitespace runs made one
 * space, repeated values joined with ','. An absent header signs as ''.
 */
export function canonicalHeaderValue(req: RawRequest, name: string): string {
  const distinct = req.headersDistinct?.[name];
  const raw = distinct ?? req.headers[name];
  if (raw === undefined) return '';
  if (typeof raw === 'string') return raw.trim().replace(WHITESPACE_RUN, ' ');
  return raw.map((v) => v.trim().replace(WHITESPACE_RUN, ' ')).join(',');
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  /** Lower-case names in the order the client listed them in SignedHeaders. */
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function buildCanonicalRequest(req: RawRequest, parts: CanonicalRequestParts): string {
  let headerBlock = '';
  for (const name of parts.signedHeaders) headerBlock += `${name}:${canonicalHeaderValue(req, name)}\n`;
  return [
    parts.method,
    parts.canonicalUri,
    parts.canonicalQuery,
    headerBlock,
    parts.signedHeaders.join(';'),
    parts.payloadHash,
  ].join('\n');
}
