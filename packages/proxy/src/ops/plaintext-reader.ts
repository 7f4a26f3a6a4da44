import { pipeline, Readable } from 'node:stream';
import {
  CoreError,
  decodePartHeader,
  DecryptStream,
  isCoreError,
  PART_HEADER_BYTES,
  partSegmentKey,
  planRead,
  singleSegmentKey,
} from '@s3seal/core';
import type { ObjectLayout, PartHeader, ReadPlan } from '@s3seal/core';
import type { ProxyServices, RequestContext } from '../context.js';
import { S3Error } from '../s3/errors.js';
import { headerValue } from '../s3/headers.js';
import { resolveRange } from '../s3/range.js';
import type { ByteRange } from '../s3/range.js';
import { discardBody, readCappedBody, throwUpstreamError } from '../upstream/read-response.js';
import type { UpstreamResponse } from '../upstream/upstream-client.js';
import type { KnownLayout } from './layout-cache.js';
import { exactMultipartLayout } from './object-layout.js';
import type { OpenedObject } from './stored-object.js';

/** Which plaintext bytes a read wants: all of them, a Range, or one part (`?partNumber=N`). */
export type PlaintextSelection =
  | { readonly kind: 'all' }
  | { readonly kind: 'range'; readonly range: ByteRange }
  | { readonly kind: 'part'; readonly partNumber: number };

/** Inclusive plaintext bounds (`end` = `start` − 1 when empty) and whether that is the whole object. */
export interface SelectedBytes {
  readonly start: number;
  readonly end: number;
  readonly isWhole: boolean;
}

/** Resolves a selection against a layout: 416 for a range outside it, InvalidPartNumber for a part past the last. */
export function selectPlaintext(layout: ObjectLayout, selection: PlaintextSelection): SelectedBytes {
  const size = layout.plaintextSize;
  switch (selection.kind) {
    case 'all':
      return { start: 0, end: size - 1, isWhole: true };
    case 'range':
      return { ...resolveRange(selection.range, size), isWhole: false };
    case 'part': {
      const segment = layout.segments[selection.partNumber - 1];
      if (!segment) {
        throw new S3Error(
          'InvalidPartNumber',
          `The requested partnumber is not satisfiable: the object has ${layout.segments.length} part(s).`,
        );
      }
      const start = segment.plaintextOffset;
      return { start, end: start + segment.plaintextSize - 1, isWhole: false };
    }
  }
}

/**
 * Verified plaintext of one stored object, for GetObject and for copies that re-encrypt. It
 * fetches one contiguous stored range (only the chunks that cover the selection), and
 * authenticates every chunk before releasing any of its bytes.
 *
 * A multipart object whose layout was guessed (§5a) may turn out to be laid out otherwise: a
 * chunk then fails to authenticate. The reader then asks for every part's size and goes on
 * from the byte it got to, provided the bytes it already released keep their meaning (the same
 * selection under the exact layout); otherwise the failure stands (fail closed).
 */
export class PlaintextReader {
  private opened: OpenedObject;
  private selected: SelectedBytes;

  constructor(
    private readonly ctx: RequestContext,
    private readonly services: ProxyServices,
    object: OpenedObject,
    private readonly selection: PlaintextSelection,
    /** Headers each upstream GET carries besides the range and the version pin. */
    private readonly headers: Readonly<Record<string, string>> = {},
  ) {
    this.opened = object;
    this.selected = selectPlaintext(object.layout, selection);
  }

  /** The object as now known (its layout may have been corrected before the first byte). */
  get object(): OpenedObject {
    return this.opened;
  }

  get bytes(): SelectedBytes {
    return this.selected;
  }

  /** The stored range to fetch first, as a Range header value (undefined: the whole object). */
  sealedRange(): string | undefined {
    const plan = this.plan(0);
    if (!plan || (plan.sealedStart === 0 && plan.sealedEnd === this.opened.layout.sealedSize))
      return undefined;
    return `bytes=${plan.sealedStart}-${plan.sealedEnd - 1}`;
  }

  /** The plaintext as a byte stream (buffering bytes, not pieces: memory stays bounded by chunks). */
  stream(first?: UpstreamResponse): Readable {
    return Readable.from(this.chunks(first), { objectMode: false });
  }

  /**
   * The plaintext, in pieces. `first` is a response already asked for (GetObject's, which
   * carries the headers the client gets); it is used when it covers what is needed.
   */
  async *chunks(first?: UpstreamResponse): AsyncGenerator<Buffer> {
    let up = first;
    let emitted = 0;
    try {
      for (;;) {
        const plan = this.plan(emitted);
        if (!plan) return;
        up = await this.responseFor(plan, up);
        try {
          const header = await this.partHeaderFor(plan);
          for await (const chunk of this.decrypt(up, plan, header) as AsyncIterable<Buffer>) {
            emitted += chunk.length;
            yield chunk;
          }
          return;
        } catch (err: unknown) {
          discardBody(up.body);
          up = undefined;
          await this.recover(err, emitted);
        }
      }
    } finally {
      if (up) discardBody(up.body);
    }
  }

  private plan(emitted: number): ReadPlan | undefined {
    const { start, end, isWhole } = this.selected;
    const layout = this.opened.layout;
    // An empty object is still one authenticated (empty) chunk: read it.
    if (isWhole && layout.plaintextSize === 0) return emitted === 0 ? planRead(layout) : undefined;
    if (start + emitted > end) return undefined;
    return planRead(layout, start + emitted, end);
  }

  private async responseFor(plan: ReadPlan, up: UpstreamResponse | undefined): Promise<UpstreamResponse> {
    if (up) {
      const received = receivedRange(up);
      if (received && received.start === plan.sealedStart && received.end >= plan.sealedEnd - 1) return up;
      discardBody(up.body);
    }
    return this.get(`bytes=${plan.sealedStart}-${plan.sealedEnd - 1}`, plan.sealedStart);
  }

  private async get(range: string, expectedStart: number): Promise<UpstreamResponse> {
    const { version } = this.opened;
    const up = await this.services.upstream.send({
      method: 'GET',
      bucket: version.bucket,
      key: version.key,
      query: version.versionId === undefined ? [] : [['versionId', version.versionId]],
      headers: { ...this.headers, range, 'if-match': version.etag },
      signal: this.ctx.signal,
    });
    if (up.statusCode >= 300) await throwUpstreamError(up);
    if (receivedRange(up)?.start !== expectedStart) {
      discardBody(up.body);
      throw new S3Error('InternalError', `the backend did not return stored bytes from ${expectedStart}`);
    }
    return up;
  }

  /** The part header a read needs when it starts inside a part (learned before, or read now: 32 bytes). */
  private async partHeaderFor(plan: ReadPlan): Promise<PartHeader | undefined> {
    const parts = this.opened.parts;
    const segment = this.opened.layout.segments[plan.firstSegment]!;
    if (!parts || plan.startsWithHeader || segment.headerBytes === 0) return undefined;
    const known = parts.headers.get(plan.firstSegment);
    if (known) return known;
    const at = segment.sealedOffset;
    const up = await this.get(`bytes=${at}-${at + PART_HEADER_BYTES - 1}`, at);
    const header = decodePartHeader(
      this.opened.info.algorithm,
      await readCappedBody(up.body, PART_HEADER_BYTES),
    );
    parts.headers.set(plan.firstSegment, header);
    return header;
  }

  private decrypt(up: UpstreamResponse, plan: ReadPlan, firstHeader: PartHeader | undefined): Readable {
    const { info, dek, parts } = this.opened;
    const singleKey = parts ? undefined : singleSegmentKey(info, dek);
    const decrypt = new DecryptStream({
      algorithm: info.algorithm,
      layout: this.opened.layout,
      plan,
      // A read that starts inside a part hands its pre-fetched header over: the stream keys that
      // part with it and checks that later parts come after it.
      firstHeader,
      segmentKey: (index, header) => {
        if (singleKey) return singleKey;
        if (!header) throw invalid(`no header for part ${index + 1}`);
        parts!.headers.set(index, header);
        return partSegmentKey(info, dek, header);
      },
    });
    // Errors surface through the iteration of `decrypt`; the callback only completes the pipeline.
    return pipeline(limitBytes(up.body, plan.sealedEnd - plan.sealedStart), decrypt, () => undefined);
  }

  /** After a failed chunk: correct a guessed layout and go on, or let the failure stand. */
  private async recover(err: unknown, emitted: number): Promise<void> {
    const parts = this.opened.parts;
    if (!isCoreError(err, 'S3SEAL_CIPHERTEXT_INVALID') || !parts || parts.isExact) throw err;
    const guessed = this.opened.layout;
    const exact: KnownLayout = await exactMultipartLayout(
      this.ctx,
      this.services,
      this.opened.version,
      guessed.chunkSize,
      guessed.segments.length,
      guessed.sealedSize,
    );
    const selected = selectPlaintext(exact.layout, this.selection);
    if (emitted > 0 && (selected.start !== this.selected.start || selected.end !== this.selected.end))
      throw err;
    this.services.log.info(
      { requestId: this.ctx.requestId, key: this.opened.version.key, parts: guessed.segments.length },
      'multipart parts differ in size; read every part size',
    );
    this.opened = { ...this.opened, layout: exact.layout, parts: exact };
    this.selected = selected;
  }
}

/** The stored bytes a response carries: all of a 200, or a 206's Content-Range. */
function receivedRange(up: UpstreamResponse): { start: number; end: number } | undefined {
  if (up.statusCode === 200) {
    const length = Number(headerValue(up.headers, 'content-length') ?? NaN);
    return Number.isSafeInteger(length) ? { start: 0, end: length - 1 } : undefined;
  }
  const m = /^bytes (\d+)-(\d+)\//.exec(headerValue(up.headers, 'content-range') ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
}

/** The backend may send more than the plan needs (a whole object for a part of it): stop at the end. */
async function* limitBytes(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let left = limit;
  for await (const chunk of source) {
    if (chunk.length <= left) {
      left -= chunk.length;
      yield chunk;
    } else {
      yield chunk.subarray(0, left);
      left = 0;
    }
    if (left === 0) break;
  }
}

function invalid(message: string): CoreError {
  return new CoreError('S3SEAL_CIPHERTEXT_INVALID', message);
}
