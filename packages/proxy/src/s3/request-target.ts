import { S3Error } from './errors.js';

/** What a request addresses, decoded once from the raw URL and Host header. */
export interface RequestTarget {
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  /** Query parameters in order, names and values percent-decoded. */
  readonly query: readonly (readonly [string, string])[];
  readonly isVirtualHosted: boolean;
}

/**
 * Splits a request into bucket, key and query. Path style is `/bucket/key`; virtual-hosted
 * style is `bucket.<domain>/key` for one of the configured domains. Duplicate query names are
 * refused: S3 signs and reads the first only, so a second one could smuggle a meaning past
 * the verifier.
 */
export function parseRequestTarget(
  rawUrl: string,
  host: string | undefined,
  virtualHostDomains: readonly string[],
): RequestTarget {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
  const query = parseQuery(rawQuery);
  // Split on the slashes as sent, then decode: `/bucket%2Fkey` names the bucket "bucket/key"
  // (which cannot exist), not the object "key", exactly as the client signed it.
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidRequest', 'the request path must start with /');

  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const domain = virtualHostDomains.find((d) => hostname.endsWith(`.${d}`));
  if (domain) {
    const bucket = hostname.slice(0, -domain.length - 1);
    const key = decode(rawPath.slice(1));
    return { bucket, key: key === '' ? undefined : key, query, isVirtualHosted: true };
  }
  const slash = rawPath.indexOf('/', 1);
  const bucket = decode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
  if (bucket.includes('/')) {
    throw new S3Error('InvalidURI', `${JSON.stringify(bucket.slice(0, 100))} is not a bucket name`);
  }
  const key = slash < 0 ? '' : decode(rawPath.slice(slash + 1));
  return {
    bucket: bucket === '' ? undefined : bucket,
    key: key === '' ? undefined : key,
    query,
    isVirtualHosted: false,
  };
}

function parseQuery(rawQuery: string): [string, string][] {
  if (rawQuery === '') return [];
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    // In a query, '+' is a space for form encoding; S3 clients encode a literal '+' as %2B.
    const name = decode(eq < 0 ? part : part.slice(0, eq), true);
    const value = eq < 0 ? '' : decode(part.slice(eq + 1), true);
    if (seen.has(name)) throw new S3Error('InvalidArgument', `query parameter ${name} is repeated`);
    seen.add(name);
    out.push([name, value]);
  }
  return out;
}

function decode(text: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, ' ') : text);
  } catch {
    throw new S3Error('InvalidURI', `could not decode ${JSON.stringify(text.slice(0, 100))}`);
  }
}

export function queryValue(target: RequestTarget, name: string): string | undefined {
  for (const [n, v] of target.query) if (n === name) return v;
  return undefined;
}

export function hasQuery(target: RequestTarget, name: string): boolean {
  return target.query.some(([n]) => n === name);
}
