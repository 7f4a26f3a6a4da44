import type { ObjectLayout, PartHeader } from '@s3seal/core';

/** What the proxy learned about one version of a multipart object. */
export interface KnownLayout {
  readonly layout: ObjectLayout;
  /** From every part's size (else guessed from part 1, see multipart-layout.ts). */
  readonly isExact: boolean;
  /** Part headers read so far, by segment index: a read that starts inside a part needs its salt. */
  readonly headers: Map<number, PartHeader>;
}

/**
 * Multipart layouts by object version (bucket, key, backend ETag), so that reading a part of
 * a large object costs its chunks, not a HEAD per part each time. Least recently used entries
 * go first; a Map keeps insertion order, and a hit is re-inserted.
 */
export class LayoutCache {
  private readonly entries = new Map<string, KnownLayout>();

  constructor(private readonly maxEntries = 1024) {}

  get(bucket: string, key: string, etag: string): KnownLayout | undefined {
    const id = cacheId(bucket, key, etag);
    const found = this.entries.get(id);
    if (found) {
      this.entries.delete(id);
      this.entries.set(id, found);
    }
    return found;
  }

  set(bucket: string, key: string, etag: string, known: KnownLayout): void {
    const id = cacheId(bucket, key, etag);
    this.entries.delete(id);
    this.entries.set(id, known);
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function cacheId(bucket: string, key: string, etag: string): string {
  return `${bucket}\0${key}\0${etag}`;
}
