import { CoreError } from '../errors.js';
import { algorithmByName } from './algorithms.js';
import type { Algorithm } from './algorithms.js';
import { sha256, WRAPPED_DEK_BYTES } from './keys.js';
import { assertChunkSize } from './sizes.js';
import { FORMAT_VERSION } from './version.js';

/**
 * Everything a reader needs to open an object, as stored in its user metadata
 * (`x-amz-meta-s3seal-*`). Names here are without the `x-amz-meta-` prefix, lower case, as
 * S3 returns them.
 */
export const METADATA_PREFIX = 's3seal-';
export const META = {
  version: 's3seal-v',
  algorithm: 's3seal-alg',
  chunkSize: 's3seal-chunk',
  layout: 's3seal-layout',
  plaintextSize: 's3seal-size',
  plaintextMd5: 's3seal-md5',
  binding: 's3seal-bind',
  kek: 's3seal-kek',
  wrap: 's3seal-wrap',
  wrappedDek: 's3seal-dek',
} as const;
const KNOWN_NAMES: ReadonlySet<string> = new Set(Object.values(META));

/** S3 limits user-defined metadata to 2 KiB: UTF-8 bytes of every name and value, summed. */
export const USER_METADATA_LIMIT_BYTES = 2048;

/** `single`: one PutObject body. `multipart`: parts that each start with a part header. */
export type Layout = 'single' | 'multipart';
/**
 * How the DEK is wrapped: `kwp` with a KEK of the local keyring (AES key wrap under a derived
 * key), `vault-transit` by a Vault/OpenBao Transit key, `aws-kms` by an AWS KMS key.
 */
export type WrapScheme = 'kwp' | 'vault-transit' | 'aws-kms';
export const WRAP_SCHEMES: readonly WrapScheme[] = ['kwp', 'vault-transit', 'aws-kms'];

/** Which key wrapped an object's DEK: the key source's id and the key version it used. */
export interface KekRef {
  /** The keyring id, or the name of the external key source (a proxy's configuration maps it). */
  readonly keyringId: string;
  /** `v<N>`; for `aws-kms` the KMS key ARN. */
  readonly version: string;
}

export interface SealedObjectInfo {
  readonly algorithm: Algorithm;
  readonly chunkSize: number;
  readonly layout: Layout;
  /** Known for `single` objects (from the request's length); absent for `multipart`. */
  readonly plaintextSize: number | undefined;
  /** MD5 of the plaintext when the writer knew it before the body (a Content-MD5 header). */
  readonly plaintextMd5: Buffer | undefined;
  /** Whether the data key is bound to the object's key (see docs/FORMAT.md). */
  readonly isKeyBound: boolean;
  readonly kek: KekRef;
  readonly wrap: WrapScheme;
  readonly wrappedDek: Buffer;
}

export const KEYRING_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const KEK_VERSION_PATTERN = /^v[1-9][0-9]{0,8}$/;
/** An AWS KMS key ARN (any partition), as KMS reports the key that wrapped a data key. */
export const KMS_KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]{1,32}:[0-9]{12}:key\/[A-Za-z0-9-]{1,128}$/;
/** Wrapped keys of external key managers are opaque; bounded so metadata stays within S3's 2 KiB. */
export const MAX_EXTERNAL_WRAPPED_BYTES = 1024;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const MD5_HEX = /^[0-9a-f]{32}$/;

export function isSealedMetadata(userMetadata: Readonly<Record<string, string>>): boolean {
  return META.version in userMetadata;
}

export function encodeMetadata(info: SealedObjectInfo): Record<string, string> {
  const out: Record<string, string> = {
    [META.version]: String(FORMAT_VERSION),
    [META.algorithm]: info.algorithm.name,
    [META.chunkSize]: String(info.chunkSize),
    [META.layout]: info.layout,
  };
  if (info.plaintextSize !== undefined) out[META.plaintextSize] = String(info.plaintextSize);
  if (info.plaintextMd5 !== undefined) out[META.plaintextMd5] = info.plaintextMd5.toString('hex');
  out[META.binding] = info.isKeyBound ? 'key' : 'none';
  out[META.kek] = `${info.kek.keyringId}:${info.kek.version}`;
  out[META.wrap] = info.wrap;
  out[META.wrappedDek] = info.wrappedDek.toString('base64url');
  return out;
}

/**
 * Parses s3seal's fields out of an object's user metadata. Strict on purpose: every value
 * must be in its one canonical spelling, so that no altered byte can parse to the same value
 * and slip past the authentication that the wrap provides.
 */
export function decodeMetadata(userMetadata: Readonly<Record<string, string>>): SealedObjectInfo {
  const problems: string[] = [];
  const field = (name: string): string | undefined => {
    // Typed as strings, but maps also come from JSON (upload state): anything else would reach
    // Buffer.from or a regex as a number or an object and throw a raw TypeError.
    const value: unknown = userMetadata[name];
    if (value === undefined || typeof value === 'string') return value;
    problems.push(`${name} is not text`);
    return undefined;
  };
  const required = (name: string): string => {
    const value = field(name);
    if (value === undefined) problems.push(`${name} is missing`);
    return value ?? '';
  };
  for (const name of Object.keys(userMetadata)) {
    if (name.startsWith(METADATA_PREFIX) && !KNOWN_NAMES.has(name)) problems.push(`unknown field ${name}`);
  }

  const version = required(META.version);
  if (version !== String(FORMAT_VERSION)) {
    throw invalid([`unsupported format version ${JSON.stringify(version)}`]);
  }
  let algorithm: Algorithm | undefined;
  try {
    algorithm = algorithmByName(required(META.algorithm));
  } catch {
    problems.push(`${META.algorithm} is not a known algorithm`);
  }
  const chunkText = required(META.chunkSize);
  const chunkSize = DECIMAL.test(chunkText) ? Number(chunkText) : NaN;
  try {
    assertChunkSize(chunkSize);
  } catch {
    problems.push(`${META.chunkSize} is not a valid chunk size`);
  }
  const layout = required(META.layout);
  if (layout !== 'single' && layout !== 'multipart')
    problems.push(`${META.layout} is not single or multipart`);
  const sizeText = field(META.plaintextSize);
  let plaintextSize: number | undefined;
  if (sizeText !== undefined) {
    if (DECIMAL.test(sizeText) && Number.isSafeInteger(Number(sizeText))) plaintextSize = Number(sizeText);
    else problems.push(`${META.plaintextSize} is not a decimal size`);
  }
  if (layout === 'single' && sizeText === undefined) problems.push(`${META.plaintextSize} is missing`);
  if (layout === 'multipart' && sizeText !== undefined)
    problems.push(`${META.plaintextSize} is set on multipart`);
  const md5Text = field(META.plaintextMd5);
  if (md5Text !== undefined && !MD5_HEX.test(md5Text))
    problems.push(`${META.plaintextMd5} is not lowercase hex MD5`);
  const binding = required(META.binding);
  if (binding !== 'key' && binding !== 'none') problems.push(`${META.binding} is not key or none`);
  const wrapText = required(META.wrap);
  const wrap = (WRAP_SCHEMES as readonly string[]).includes(wrapText) ? (wrapText as WrapScheme) : undefined;
  if (!wrap) problems.push(`${META.wrap} names an unknown wrap scheme`);
  const kek = parseKekRef(required(META.kek), wrap ?? 'kwp');
  if (!kek) problems.push(`${META.kek} is not <key-source>:<version>`);
  const dekText = required(META.wrappedDek);
  const wrappedDek = Buffer.from(dekText, 'base64url');
  // Buffer.from ignores stray characters and unused trailing bits; insist on the canonical form.
  const isRightLength =
    wrap === 'kwp'
      ? wrappedDek.length === WRAPPED_DEK_BYTES
      : wrappedDek.length > 0 && wrappedDek.length <= MAX_EXTERNAL_WRAPPED_BYTES;
  if (!isRightLength || wrappedDek.toString('base64url') !== dekText) {
    problems.push(`${META.wrappedDek} is not a canonical base64url wrapped key`);
  }

  if (problems.length > 0 || !algorithm || !kek || !wrap) throw invalid(problems);
  return {
    algorithm,
    chunkSize,
    layout: layout as Layout,
    plaintextSize,
    plaintextMd5: md5Text === undefined ? undefined : Buffer.from(md5Text, 'hex'),
    isKeyBound: binding === 'key',
    kek,
    wrap,
    wrappedDek,
  };
}

/** `<source id>:<version>`; the id has no colon, a KMS ARN after it has several. */
function parseKekRef(text: string, wrap: WrapScheme): KekRef | undefined {
  const at = text.indexOf(':');
  const keyringId = text.slice(0, at);
  const version = text.slice(at + 1);
  const versionPattern = wrap === 'aws-kms' ? KMS_KEY_ARN_PATTERN : KEK_VERSION_PATTERN;
  if (at < 0 || !KEYRING_ID_PATTERN.test(keyringId) || !versionPattern.test(version)) return undefined;
  return { keyringId, version };
}

function invalid(problems: string[]): CoreError {
  return new CoreError('S3SEAL_METADATA_INVALID', `invalid s3seal metadata: ${problems.join('; ')}`);
}

/**
 * Digest of the fields the data key is bound to (see {@link deriveWrapKey}). The KEK
 * reference and the wrapped key are not in it: changing those already breaks the unwrap,
 * and leaving them out lets a rewrap replace them without touching the data.
 */
export function bindingDigest(
  info: Pick<
    SealedObjectInfo,
    'algorithm' | 'chunkSize' | 'layout' | 'plaintextSize' | 'plaintextMd5' | 'isKeyBound'
  >,
  objectKey: string,
): Buffer {
  const key = info.isKeyBound ? Buffer.from(objectKey, 'utf8') : Buffer.alloc(0);
  const fixed = Buffer.alloc(1 + 1 + 1 + 4 + 1 + 8 + 1 + 16 + 1 + 4);
  let at = 0;
  at = fixed.writeUInt8(FORMAT_VERSION, at);
  at = fixed.writeUInt8(info.layout === 'single' ? 1 : 2, at);
  at = fixed.writeUInt8(info.algorithm.id, at);
  at = fixed.writeUInt32BE(info.chunkSize, at);
  at = fixed.writeUInt8(info.plaintextSize === undefined ? 0 : 1, at);
  at = fixed.writeBigUInt64BE(BigInt(info.plaintextSize ?? 0), at);
  at = fixed.writeUInt8(info.plaintextMd5 === undefined ? 0 : 1, at);
  if (info.plaintextMd5 !== undefined) info.plaintextMd5.copy(fixed, at);
  at += 16;
  at = fixed.writeUInt8(info.isKeyBound ? 1 : 0, at);
  fixed.writeUInt32BE(key.length, at);
  return sha256(Buffer.concat([Buffer.from('s3seal/1 bind\0', 'latin1'), fixed, key]));
}

/** UTF-8 bytes S3 counts against {@link USER_METADATA_LIMIT_BYTES}. */
export function userMetadataBytes(userMetadata: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const [name, value] of Object.entries(userMetadata)) {
    total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return total;
}

/**
 * Checks that a client's own metadata can be stored next to s3seal's: no name under the
 * reserved prefix, and the sum within S3's 2 KiB limit (so the error is ours, and clear,
 * rather than the backend's).
 */
export function assertClientMetadataFits(
  clientMetadata: Readonly<Record<string, string>>,
  sealedMetadata: Readonly<Record<string, string>>,
): void {
  for (const name of Object.keys(clientMetadata)) {
    if (name.toLowerCase().startsWith(METADATA_PREFIX)) {
      throw new CoreError(
        'S3SEAL_METADATA_RESERVED',
        `metadata name x-amz-meta-${name} is reserved for s3seal; rename it`,
      );
    }
  }
  const used = userMetadataBytes(clientMetadata) + userMetadataBytes(sealedMetadata);
  if (used > USER_METADATA_LIMIT_BYTES) {
    const available = USER_METADATA_LIMIT_BYTES - userMetadataBytes(sealedMetadata);
    throw new CoreError(
      'S3SEAL_METADATA_TOO_LARGE',
      `user metadata is ${userMetadataBytes(clientMetadata)} bytes; with encryption, at most ${available} bytes fit S3's 2 KiB limit`,
    );
  }
}
