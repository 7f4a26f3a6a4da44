/** Whether a bucket's objects are encrypted: `buckets` holds names or globs (`*`, `?`). */
export function makeBucketMatcher(patterns: readonly string[]): (bucket: string) => boolean {
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      ),
  );
  return (bucket) => regexes.some((r) => r.test(bucket));
}
