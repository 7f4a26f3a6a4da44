/**
 * SigV4's URI encoding: every byte but the unreserved `A-Z a-z 0-9 - . _ ~` as %XX (upper
 * case). The upstream path and query are built with it so that the bytes sent are exactly
 * the bytes aws4 canonicalizes (it decodes and re-encodes S3 paths the same way).
 */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** An object key as a path: each segment encoded, the slashes kept. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

export function encodeQuery(query: readonly (readonly [string, string])[]): string {
  return query
    .map(([name, value]) => (value === '' ? `${uriEncode(name)}=` : `${uriEncode(name)}=${uriEncode(value)}`))
    .join('&');
}
