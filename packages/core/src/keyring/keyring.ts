import { createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CoreError } from '../errors.js';
import { deriveWrapKey, unwrapDek, wrapDek } from '../format/keys.js';
import { KEK_VERSION_PATTERN, KEYRING_ID_PATTERN } from '../format/metadata.js';
import type { KekRef } from '../format/metadata.js';
import type { KeySource, KeySources, WrapContext, WrappedDataKey } from './key-source.js';

export const KEK_BYTES = 32;
export const DEFAULT_KEYRING_ID = 'default';
/** Name of the file (or the key in a Kubernetes Secret) that names the active version. */
export const ACTIVE_ENTRY = 'active';

/**
 * A set of versioned key-encryption keys, one of them active. New objects are wrapped with
 * the active version; any retained version unwraps. Immutable: a reload builds a new one.
 *
 * It is the `kwp` key source (docs/FORMAT.md §1), and on its own a whole set of sources (the
 * usual case: one keyring, no external key manager).
 */
export class Keyring implements KeySource, KeySources {
  readonly scheme = 'kwp' as const;
  readonly id: string;
  readonly activeVersion: string;
  private readonly keys: ReadonlyMap<string, KeyObject>;

  private constructor(id: string, keys: ReadonlyMap<string, KeyObject>, activeVersion: string) {
    this.id = id;
    this.keys = keys;
    this.activeVersion = activeVersion;
  }

  /** Builds a keyring from raw 32-byte keys, validating everything at once. */
  static fromKeys(id: string, keys: ReadonlyMap<string, Buffer>, activeVersion: string): Keyring {
    const problems: string[] = [];
    if (!KEYRING_ID_PATTERN.test(id))
      problems.push(`keyring id ${JSON.stringify(id)} is not a DNS-like name`);
    const objects = new Map<string, KeyObject>();
    for (const [version, bytes] of keys) {
      if (!KEK_VERSION_PATTERN.test(version)) problems.push(`version ${JSON.stringify(version)} is not v<N>`);
      else if (bytes.length !== KEK_BYTES)
        problems.push(`${version} is ${bytes.length} bytes, not ${KEK_BYTES}`);
      else objects.set(version, createSecretKey(bytes));
    }
    if (!keys.has(activeVersion)) {
      problems.push(`the active version ${JSON.stringify(activeVersion)} is not among ${listVersions(keys)}`);
    }
    if (problems.length > 0) {
      throw new CoreError('S3SEAL_KEYRING_INVALID', `invalid keyring ${id}: ${problems.join('; ')}`);
    }
    return new Keyring(id, objects, activeVersion);
  }

  /**
   * Parses the entries of a keyring directory laid out like a mounted Kubernetes Secret:
   * `v1`, `v2`, … each holding a base64 key, and `active` naming one of them. Other entries
   * (Kubernetes' `..data` links, dotfiles) are ignored.
   */
  static fromEntries(id: string, entries: ReadonlyMap<string, string>): Keyring {
    const keys = new Map<string, Buffer>();
    const problems: string[] = [];
    for (const [name, text] of entries) {
      if (!KEK_VERSION_PATTERN.test(name)) continue;
      const decoded = decodeKey(text);
      if (decoded) keys.set(name, decoded);
      else problems.push(`${name} does not hold a base64-encoded ${KEK_BYTES}-byte key`);
    }
    const active = entries.get(ACTIVE_ENTRY)?.trim();
    if (active === undefined) problems.push(`no "${ACTIVE_ENTRY}" entry names the active version`);
    if (problems.length > 0) {
      throw new CoreError('S3SEAL_KEYRING_INVALID', `invalid keyring ${id}: ${problems.join('; ')}`);
    }
    return Keyring.fromKeys(id, keys, active ?? '');
  }

  /**
   * Parses a keyring from environment-style variables: `<prefix>V1=<base64>`, …,
   * `<prefix>ACTIVE=v2` and optionally `<prefix>ID=<keyring id>`. The caller passes the
   * variables in; core reads no environment itself.
   */
  static fromEnv(vars: Readonly<Record<string, string | undefined>>, prefix = 'S3SEAL_KEK_'): Keyring {
    const entries = new Map<string, string>();
    for (const [name, value] of Object.entries(vars)) {
      if (!name.startsWith(prefix) || value === undefined) continue;
      const rest = name.slice(prefix.length);
      if (/^V[1-9][0-9]*$/.test(rest)) entries.set(rest.toLowerCase(), value);
      else if (rest === 'ACTIVE') entries.set(ACTIVE_ENTRY, value);
    }
    return Keyring.fromEntries(vars[`${prefix}ID`] ?? DEFAULT_KEYRING_ID, entries);
  }

  /** The active KEK, for wrapping new data keys. */
  activeKek(): { ref: KekRef; key: KeyObject } {
    return {
      ref: { keyringId: this.id, version: this.activeVersion },
      key: this.get(this.ref(this.activeVersion)),
    };
  }

  /** The KEK an object names; a clear error when it is not here. */
  get(ref: KekRef): KeyObject {
    if (ref.keyringId !== this.id) {
      throw new CoreError(
        'S3SEAL_KEYRING_MISMATCH',
        `the object was encrypted under keyring ${ref.keyringId}, but this proxy holds keyring ${this.id}`,
      );
    }
    const key = this.keys.get(ref.version);
    if (!key) {
      throw new CoreError(
        'S3SEAL_KEY_VERSION_UNKNOWN',
        `KEK version ${ref.version} of keyring ${this.id} is not loaded (have ${listVersions(this.keys)}); restore it to the keyring`,
      );
    }
    return key;
  }

  versions(): string[] {
    return [...this.keys.keys()].sort(compareVersions);
  }

  /** Wraps a DEK with the active KEK under the key derived from the object's binding digest. */
  wrapSync(dek: Buffer, bindingDigest: Buffer): WrappedDataKey {
    const { key } = this.activeKek();
    return { version: this.activeVersion, wrapped: wrapDek(deriveWrapKey(key, bindingDigest), dek) };
  }

  unwrapSync(key: WrappedDataKey, bindingDigest: Buffer): Buffer {
    const kek = this.get(this.ref(key.version));
    return unwrapDek(deriveWrapKey(kek, bindingDigest), key.wrapped);
  }

  // KeySource: the keyring binds the object's metadata, not its bucket (docs/FORMAT.md §1).
  wrap(dek: Buffer, context: WrapContext): Promise<WrappedDataKey> {
    return Promise.resolve(this.wrapSync(dek, context.bindingDigest));
  }

  unwrap(key: WrappedDataKey, context: WrapContext): Promise<Buffer> {
    // A throw in the executor rejects: an unknown version or a failed unwrap is a rejection.
    return new Promise((resolve) => resolve(this.unwrapSync(key, context.bindingDigest)));
  }

  isActiveVersion(version: string): boolean {
    return version === this.activeVersion;
  }

  // KeySources: a keyring alone is its own active source.
  get active(): KeySource {
    return this;
  }

  source(id: string): KeySource | undefined {
    return id === this.id ? this : undefined;
  }

  private ref(version: string): KekRef {
    return { keyringId: this.id, version };
  }
}

function decodeKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return undefined;
  const bytes = Buffer.from(trimmed, 'base64');
  return bytes.length === KEK_BYTES && bytes.toString('base64') === trimmed ? bytes : undefined;
}

export function compareVersions(a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1));
}

function listVersions(keys: ReadonlyMap<string, unknown>): string {
  const names = [...keys.keys()].sort(compareVersions);
  return names.length > 0 ? names.join(', ') : 'none';
}
