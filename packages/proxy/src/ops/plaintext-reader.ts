import { PassThrough } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import {
  CoreError,
  decodePartHeader,
  Decryptor,
  isCoreError,
  PART_HEADER_BYTES,
  partSegmentKey,
  planRead,
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
  /** Plaintext bytes written so far, and whether any were. */
  private emitted = 0;
  private hasStarted = false;

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

  /** The plaintext as a byte stream, for copies (memory stays bounded by a chunk and the stream's buffer). */
  stream(first?: UpstreamResponse): Readable {
    const out = new PassThrough();
    this.pipeTo(out, first).then(
      () => out.end(),
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  /**
   * Writes the plaintext to `sink` (the client's response, or a copy's stream), each chunk's
   * pieces corked into one write, pausing the backend's body while the sink is full. `first`
   * is a response already asked for (GetObject's, which carries the headers the client gets);
   * it is used when it covers what is needed. `beforeFirstBytes` runs once, just before the
   * first verified byte is written (GetObject sends its headers then). Does not end the sink.
   */
  async pipeTo(sink: Writable, first?: UpstreamResponse, beforeFirstBytes?: () => void): Promise<void> {
    let up = first;
    try {
      for (;;) {
        const plan = this.plan(this.emitted);
        if (!plan) return;
        up = await this.responseFor(plan, up);
        try {
          const header = await this.partHeaderFor(plan);
          await this.pump(up, plan, header, sink, beforeFirstBytes);
          return;
        } catch (err: unknown) {
          discardBody(up.body);
          up = undefined;
          await this.recover(err, this.emitted);
        }
      }
    } finally {
      if (up) discardBody(up.body);
    }
  }

  /**
   * One upstream body through a Decryptor into the sink, on 'data' events (no promise or
   * async iteration per piece). Resolves once the plan's last chunk is authenticated and written.
   */
  private pump(
    up: UpstreamResponse,
    plan: ReadPlan,
    firstHeader: PartHeader | undefined,
    sink: Writable,
    beforeFirstBytes: (() => void) | undefined,
  ): Promise<void> {
    const decryptor = this.decryptor(plan, firstHeader);
    const body = up.body;
    let left = plan.sealedEnd - plan.sealedStart;
    let isFull = false;
    // Crypto time is the time in decryptor.write() less the time in `write` (the sink, which
    // may be a socket or a copy's encryptor running synchronously): two clock reads each.
    const meter = this.ctx.meter;
    let sinkMs = 0;
    const write = (pieces: Buffer[]): void => {
      const sinkStarted = performance.now();
      if (!this.hasStarted) {
        this.hasStarted = true;
        beforeFirstBytes?.();
      }
      // One writev for the chunk's pieces instead of a write each.
      sink.cork();
      for (const piece of pieces) {
        this.emitted += piece.length;
        if (!sink.write(piece)) isFull = true;
      }
      sink.uncork();
      sinkMs += performance.now() - sinkStarted;
    };
    return new Promise<void>((resolve, reject) => {
      let isSettled = false;
      const settle = (err?: Error): void => {
        if (isSettled) return;
        isSettled = true;
        body.off('data', onData);
        body.off('end', onEnd);
        body.off('error', settle);
        sink.off('drain', onDrain);
        sink.off('close', onClose);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onData = (data: Buffer): void => {
        // The plan is done: what follows belongs to a longer response (discarded by the caller).
        if (left === 0) return settle();
        try {
          const piece = data.length <= left ? data : data.subarray(0, left);
          left -= piece.length;
          const started = performance.now();
          const sinkBefore = sinkMs;
          decryptor.write(piece, write);
          meter.decryptMs += performance.now() - started - (sinkMs - sinkBefore);
          if (left === 0) decryptor.end();
        } catch (err: unknown) {
          return settle(err as Error);
        }
        if (isFull) {
          isFull = false;
          body.pause();
        }
      };
      const onEnd = (): void => {
        try {
          decryptor.end();
        } catch (err: unknown) {
          return settle(err as Error);
        }
        settle();
      };
      const onDrain = (): void => {
        body.resume();
      };
      const onClose = (): void => {
        settle(new S3Error('InternalError', 'the client went away before the object was sent'));
      };
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', settle);
      sink.on('drain', onDrain);
      sink.once('close', onClose);
    });
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

  private decryptor(plan: ReadPlan, firstHeader: PartHeader | undefined): Decryptor {
    const { info, dek, parts } = this.opened;
    const singleKey = parts ? undefined : this.opened.singleKey();
    return new Decryptor({
      algorithm: info.algorithm,
      layout: this.opened.layout,
      plan,
      // A read that starts inside a part hands its pre-fetched header over: the decryptor keys
      // that part with it and checks that later parts come after it.
      firstHeader,
      segmentKey: (index, header) => {
        if (singleKey) return singleKey;
        if (!header) throw invalid(`no header for part ${index + 1}`);
        parts!.headers.set(index, header);
        return partSegmentKey(info, dek, header);
      },
    });
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
      { requestId: this.ctx.requestId, parts: guessed.segments.length },
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

function invalid(message: string): CoreError {
  return new CoreError('S3SEAL_CIPHERTEXT_INVALID', message);
}
