/**
 * Per-request counters the data path adds to as bytes pass: plain numbers on one object made
 * per request, so the hot path does an addition, never a metric-label lookup or an allocation.
 * server.ts turns them into metrics and the access-log line once, when the request ends.
 */
export class RequestMeter {
  /** Verified plaintext body bytes taken from the client (after aws-chunked decoding). */
  bytesIn = 0;
  /** Milliseconds spent sealing (AEAD) this request's bodies. */
  encryptMs = 0;
  /** Milliseconds spent opening (AEAD) this request's stored objects. */
  decryptMs = 0;
}
