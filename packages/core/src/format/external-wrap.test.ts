import { describe, expect, it } from '@jest/globals';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CoreError } from '../errors.js';
import { associatedDataOf, encryptionContextOf, KeySourceSet } from '../keyring/key-source.js';
import type { KeySource, WrapContext, WrappedDataKey } from '../keyring/key-source.js';
import { Keyring } from '../keyring/keyring.js';
import { openEnvelopeWith, rewrapEnvelopeWith, sealEnvelopeWith } from './envelope.js';
import { decodeMetadata, META } from './metadata.js';
import type { WrapScheme } from './metadata.js';

/**
 * A key manager stand-in at the KeySource boundary: AES-256-GCM under a versioned key with the
 * context as associated data, as Vault Transit does. Counts calls, so tests see which path ran.
 */
class FakeKeyManager implements KeySource {
  readonly calls: string[] = [];
  private readonly keys = new Map<string, Buffer>([['v1', randomBytes(32)]]);
  private latest = 1;

  constructor(
    readonly id: string,
    readonly scheme: WrapScheme = 'vault-transit',
    readonly canRewrap = false,
  ) {}

  rotate(): void {
    this.latest += 1;
    this.keys.set(`v${this.latest}`, randomBytes(32));
  }

  wrap(dek: Buffer, context: WrapContext): Promise<WrappedDataKey> {
    this.calls.push('wrap');
    return Promise.resolve(this.seal(dek, context));
  }

  unwrap(key: WrappedDataKey, context: WrapContext): Promise<Buffer> {
    this.calls.push('unwrap');
    try {
      return Promise.resolve(this.open(key, context));
    } catch (err: unknown) {
      return Promise.reject(new CoreError('S3SEAL_KEY_UNWRAP_FAILED', 'fake: no', { cause: err }));
    }
  }

  get rewrap(): KeySource['rewrap'] {
    if (!this.canRewrap) return undefined;
    return (key, context) => {
      this.calls.push('rewrap');
      return Promise.resolve(this.seal(this.open(key, context), context));
    };
  }

  isActiveVersion(version: string): boolean {
    return version === `v${this.latest}`;
  }

  private seal(dek: Buffer, context: WrapContext): WrappedDataKey {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(`v${this.latest}`)!, iv);
    cipher.setAAD(associatedDataOf(context));
    const body = Buffer.concat([cipher.update(dek), cipher.final()]);
    return { version: `v${this.latest}`, wrapped: Buffer.concat([iv, body, cipher.getAuthTag()]) };
  }

  private open(key: WrappedDataKey, context: WrapContext): Buffer {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.keys.get(key.version)!,
      key.wrapped.subarray(0, 12),
    );
    decipher.setAAD(associatedDataOf(context));
    decipher.setAuthTag(key.wrapped.subarray(-16));
    return Buffer.concat([decipher.update(key.wrapped.subarray(12, -16)), decipher.final()]);
  }
}

const here = { bucket: 'backups', key: 'db/base.tar' };
const seal = (sources: KeySourceSet | Keyring) =>
  sealEnvelopeWith(sources, here.bucket, { objectKey: here.key, layout: 'single', plaintextSize: 10 });

describe('data keys wrapped by an external key source', () => {
  it('records the source, its scheme and version, and opens only in the same bucket and key', async () => {
    const vault = new FakeKeyManager('vault');
    const sources = new KeySourceSet(vault);
    const sealed = await seal(sources);
    expect(sealed.metadata[META.wrap]).toBe('vault-transit');
    expect(sealed.metadata[META.kek]).toBe('vault:v1');
    const opened = await openEnvelopeWith(sources, sealed.metadata, here);
    expect(opened.dek.equals(sealed.dek)).toBe(true);
    await expect(
      openEnvelopeWith(sources, sealed.metadata, { ...here, bucket: 'other' }),
    ).rejects.toMatchObject({
      code: 'S3SEAL_KEY_UNWRAP_FAILED',
    });
    await expect(
      openEnvelopeWith(sources, sealed.metadata, { ...here, key: 'db/other' }),
    ).rejects.toMatchObject({
      code: 'S3SEAL_KEY_UNWRAP_FAILED',
    });
    // A bound field changed in the bucket changes the context too.
    const altered = { ...sealed.metadata, [META.plaintextSize]: '11' };
    await expect(openEnvelopeWith(sources, altered, here)).rejects.toMatchObject({
      code: 'S3SEAL_KEY_UNWRAP_FAILED',
    });
  });

  it('opens each object with the source that wrapped it, and says which one is missing', async () => {
    const keyring = Keyring.fromKeys('team', new Map([['v1', randomBytes(32)]]), 'v1');
    const vault = new FakeKeyManager('vault');
    const old = await seal(keyring);
    const moved = new KeySourceSet(vault, [keyring]);
    const fresh = await seal(moved);
    expect(old.metadata[META.kek]).toBe('team:v1');
    expect((await openEnvelopeWith(moved, old.metadata, here)).dek.equals(old.dek)).toBe(true);
    expect((await openEnvelopeWith(moved, fresh.metadata, here)).dek.equals(fresh.dek)).toBe(true);
    await expect(openEnvelopeWith(new KeySourceSet(vault), old.metadata, here)).rejects.toThrow(
      /key source team \(kwp\), which this proxy does not know/,
    );
    // A source of the right name but another kind is refused before it is asked.
    const impostor = new FakeKeyManager('team', 'aws-kms');
    await expect(openEnvelopeWith(new KeySourceSet(impostor), old.metadata, here)).rejects.toMatchObject({
      code: 'S3SEAL_KEYRING_MISMATCH',
    });
    expect(impostor.calls).toEqual([]);
  });

  it('rewraps in the key manager when it can and the place is unchanged, else unwraps and wraps', async () => {
    const vault = new FakeKeyManager('vault', 'vault-transit', true);
    const sources = new KeySourceSet(vault);
    const sealed = await seal(sources);
    vault.rotate();
    vault.calls.length = 0;
    const inPlace = await rewrapEnvelopeWith(sources, sealed.metadata, here);
    expect(vault.calls).toEqual(['rewrap']);
    expect(inPlace.metadata[META.kek]).toBe('vault:v2');
    expect(inPlace.dek.length).toBe(0);
    expect((await openEnvelopeWith(sources, inPlace.metadata, here)).dek.equals(sealed.dek)).toBe(true);

    vault.calls.length = 0;
    const copied = await rewrapEnvelopeWith(sources, sealed.metadata, here, { bucket: 'dr', key: here.key });
    expect(vault.calls).toEqual(['unwrap', 'wrap']);
    await expect(
      openEnvelopeWith(sources, copied.metadata, { bucket: 'dr', key: here.key }),
    ).resolves.toBeDefined();
  });

  it('moves a keyring object to the key manager (a policy changing source)', async () => {
    const keyring = Keyring.fromKeys('team', new Map([['v1', randomBytes(32)]]), 'v1');
    const old = await seal(keyring);
    const vault = new FakeKeyManager('vault');
    const moved = await rewrapEnvelopeWith(new KeySourceSet(vault, [keyring]), old.metadata, here);
    expect(moved.metadata[META.wrap]).toBe('vault-transit');
    expect((await openEnvelopeWith(new KeySourceSet(vault), moved.metadata, here)).dek.equals(old.dek)).toBe(
      true,
    );
  });

  it('uses a generated data key when the source offers one (KMS GenerateDataKey)', async () => {
    const kms = new FakeKeyManager('kms', 'aws-kms');
    const dek = randomBytes(32);
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const source: KeySource = {
      id: 'kms',
      scheme: 'aws-kms',
      generate: async (context) => ({ ...(await kms.wrap(dek, context)), version: arn, dek }),
      wrap: (d, c) => kms.wrap(d, c),
      unwrap: (k, c) => kms.unwrap({ ...k, version: 'v1' }, c),
      isActiveVersion: (v) => v === arn,
    };
    const sealed = await seal(new KeySourceSet(source));
    expect(sealed.dek.equals(dek)).toBe(true);
    expect(sealed.metadata[META.kek]).toBe(`kms:${arn}`);
    expect(decodeMetadata(sealed.metadata).kek).toEqual({ keyringId: 'kms', version: arn });
    expect((await openEnvelopeWith(new KeySourceSet(source), sealed.metadata, here)).dek.equals(dek)).toBe(
      true,
    );
  });
});

describe('metadata of external wraps', () => {
  const base = async (): Promise<Record<string, string>> =>
    (await seal(new KeySourceSet(new FakeKeyManager('vault')))).metadata;

  it('refuses unknown schemes, versions outside the scheme, and oversized wrapped keys', async () => {
    const good = await base();
    const bad = (patch: Record<string, string>) => () => decodeMetadata({ ...good, ...patch });
    expect(bad({ [META.wrap]: 'gpg' })).toThrow(/names an unknown wrap scheme/);
    expect(bad({ [META.kek]: 'vault:latest' })).toThrow(/is not <key-source>:<version>/);
    expect(bad({ [META.wrap]: 'aws-kms', [META.kek]: 'kms:v1' })).toThrow(/is not <key-source>:<version>/);
    expect(bad({ [META.wrappedDek]: Buffer.alloc(1025).toString('base64url') })).toThrow(
      /canonical base64url/,
    );
    expect(bad({ [META.wrappedDek]: '' })).toThrow(/canonical base64url/);
    // The keyring's wrap is exactly 40 bytes; an external one of 40 bytes is not a kwp one.
    expect(bad({ [META.wrap]: 'kwp' })).toThrow(/canonical base64url/);
  });

  it('states the context as a KMS encryption context and as associated data', () => {
    const context = { bucket: 'b', bindingDigest: Buffer.alloc(32, 7) };
    expect(encryptionContextOf(context)).toEqual({
      's3seal:bucket': 'b',
      's3seal:binding': Buffer.alloc(32, 7).toString('base64url'),
    });
    const aad = associatedDataOf(context);
    // The vector in docs/FORMAT.md §1a.
    expect(associatedDataOf({ bucket: 'backups', bindingDigest: Buffer.alloc(32, 7) }).toString('hex')).toBe(
      '73337365616c2f312065787465726e616c207772617000' + '00000007' + '6261636b757073' + '07'.repeat(32),
    );
    expect(aad.subarray(-33, -32).toString()).toBe('b');
    expect(associatedDataOf({ ...context, bucket: 'c' }).equals(aad)).toBe(false);
  });
});
