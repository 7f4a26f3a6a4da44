/**
 * The ETags clients see for encrypted objects (docs/FORMAT.md §5, "ETags").
 *
 * An ETag that looks like an MD5 (32 hex digits) is taken for the MD5 of the object by rclone,
 * s3cmd and botocore, which then compare it with their own. So the proxy shows an MD5-shaped
 * ETag only when it is the plaintext's MD5 (recorded in the metadata); otherwise it shows the
 * backend's ETag in multipart form (`"<hex>-1"`), which those clients know not to compare, and
 * which stays the same on PUT, HEAD, GET, copies and listings. A listing cannot read metadata,
 * so it shows that form for every single-PUT object; conditions accept both forms.
 */
export function clientEtag(md5: Buffer | undefined, backendEtag: string | undefined): string {
  if (md5 !== undefined) return `"${md5.toString('hex')}"`;
  return listingEtag(backendEtag ?? '""');
}

/** The ETag a listing shows for an encrypted object: multipart ETags as they are, others with "-1". */
export function listingEtag(backendEtag: string): string {
  const bare = unquote(backendEtag);
  return bare.includes('-') || bare === '' ? `"${bare}"` : `"${bare}-1"`;
}

/** Every ETag a client may hold for this object (from a HEAD or from a listing). */
export function etagAliases(md5: Buffer | undefined, backendEtag: string | undefined): string[] {
  const aliases = [clientEtag(md5, backendEtag)];
  if (md5 !== undefined && backendEtag !== undefined) aliases.push(listingEtag(backendEtag));
  return aliases;
}

function unquote(etag: string): string {
  return etag
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
}
