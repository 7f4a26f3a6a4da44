/**
 * SigV4's HMAC primitives: the derived signing key and a signature over a string to sign.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#derive-signing-key
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Signing keys live for a day per credential and region: a few at a time; the bound only stops growth. */
const MAX_CACHED_SIGNING_KEYS = 256;
const signingKeys = new Map<string, KeyObject>();

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
 * as a KeyObject: an HMAC keyed with raw bytes costs Node two thrown (and caught) TypeErrors
 * while it checks the key type, ~10–20 µs per call. Derived once per secret, day, region and
 * service (four HMACs) and kept in memory, bounded, as the signing secrets themselves are.
 */
export function deriveSigningKey(
  secret: string,
  scopeDate: string,
  region: string,
  service: string,
): KeyObject {
  const id = `${scopeDate}\0${region}\0${service}\0${secret}`;
  let key = signingKeys.get(id);
  if (key === undefined) {
    const bytes = hmac(hmac(hmac(hmac(`AWS4${secret}`, scopeDate), region), service), 'aws4_request');
    key = createSecretKey(bytes);
    if (signingKeys.size >= MAX_CACHED_SIGNING_KEYS) signingKeys.clear();
    signingKeys.set(id, key);
  }
  return key;
}

/** The signature of a string to sign, lower hex. */
export function signatureOf(signingKey: KeyObject, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Constant-time comparison of the computed signature (always 64 lower-hex characters) with
 * the one the client sent, whatever its length.
 */
export function isSameSignature(computed: string, provided: string): boolean {
  const a = Buffer.from(computed, 'latin1');
  const b = Buffer.from(provided, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
