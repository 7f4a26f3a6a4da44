import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KeySourceSet, META, openEnvelopeWith, rewrapEnvelopeWith, sealEnvelopeWith } from '@s3seal/core';
import { AwsKmsSource } from '@s3seal/key-providers';
import type { AwsKmsOptions } from '@s3seal/key-providers';
import { startMoto } from '@s3seal/testkit';
import type { MotoServer } from '@s3seal/testkit';

// Data keys from a KMS API (moto's server mode): GenerateDataKey and Decrypt with an encryption
// context that binds the bucket and the object, aliases, trusted keys, disabled keys, outages.
const here = { bucket: 'ml-data', key: 'shards/0001.parquet' };
const seal = (sources: KeySourceSet) =>
  sealEnvelopeWith(sources, here.bucket, { objectKey: here.key, layout: 'single', plaintextSize: 7 });

describe('AwsKmsSource', () => {
  let moto: MotoServer;
  const opened: AwsKmsSource[] = [];
  const source = async (options: Partial<AwsKmsOptions> & { keyId: string }): Promise<AwsKmsSource> => {
    const s = await AwsKmsSource.create({
      id: 'kms',
      region: moto.region,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
      timeoutMs: 2000,
      ...options,
    });
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    moto = await startMoto();
  });

  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await moto?.stop();
  });

  it('generates a data key per object, records the key ARN, and refuses another context', async () => {
    const { keyId, arn } = await moto.createKey('s3seal test');
    const kms = await source({ keyId });
    const sources = new KeySourceSet(kms);
    const sealed = await seal(sources);
    expect(sealed.metadata[META.wrap]).toBe('aws-kms');
    expect(sealed.metadata[META.kek]).toBe(`kms:${arn}`);
    expect(sealed.dek).toHaveLength(32);
    expect((await openEnvelopeWith(sources, sealed.metadata, here)).dek.equals(sealed.dek)).toBe(true);
    for (const elsewhere of [
      { ...here, bucket: 'other-bucket' },
      { ...here, key: 'shards/0002.parquet' },
    ]) {
      await expect(openEnvelopeWith(sources, sealed.metadata, elsewhere)).rejects.toMatchObject({
        code: 'S3SEAL_KEY_UNWRAP_FAILED',
      });
    }
    const copied = await rewrapEnvelopeWith(sources, sealed.metadata, here, { ...here, bucket: 'dr' });
    expect(
      (await openEnvelopeWith(sources, copied.metadata, { ...here, bucket: 'dr' })).dek.equals(sealed.dek),
    ).toBe(true);
  });

  it('resolves an alias, trusts only its key and the listed previous keys after the alias moves', async () => {
    const first = await moto.createKey('first');
    const second = await moto.createKey('second');
    await moto.createAlias('s3seal-moving', first.keyId);
    const before = await source({ keyId: 'alias/s3seal-moving' });
    await expect(before.check()).resolves.toMatchObject({ ok: true, reason: 'KMSKeyUsable' });
    const old = await seal(new KeySourceSet(before));
    expect(old.metadata[META.kek]).toBe(`kms:${first.arn}`);

    await moto.kms('UpdateAlias', { AliasName: 'alias/s3seal-moving', TargetKeyId: second.keyId });
    const after = new KeySourceSet(await source({ keyId: 'alias/s3seal-moving' }));
    await expect(openEnvelopeWith(after, old.metadata, here)).rejects.toMatchObject({
      code: 'S3SEAL_KEY_VERSION_UNKNOWN',
      message: expect.stringContaining(first.arn),
    });
    const trusting = new KeySourceSet(
      await source({ keyId: 'alias/s3seal-moving', previousKeyArns: [first.arn] }),
    );
    expect((await openEnvelopeWith(trusting, old.metadata, here)).dek.equals(old.dek)).toBe(true);
    const moved = await rewrapEnvelopeWith(trusting, old.metadata, here);
    expect(moved.metadata[META.kek]).toBe(`kms:${second.arn}`);
    expect((await openEnvelopeWith(after, moved.metadata, here)).dek.equals(old.dek)).toBe(true);
  });

  // moto does not refuse crypto with a disabled key (real KMS answers DisabledException, which
  // src/aws-kms.test.ts feeds the SDK to check it becomes S3SEAL_KEY_PROVIDER_DENIED).
  it('reports a disabled or missing key', async () => {
    const { keyId } = await moto.createKey('to disable');
    const kms = await source({ keyId });
    await moto.kms('DisableKey', { KeyId: keyId });
    await expect(kms.check()).resolves.toMatchObject({ ok: false, reason: 'KMSKeyDisabled' });
    const missing = await source({ keyId: 'alias/does-not-exist' });
    await expect(missing.check()).resolves.toMatchObject({ ok: false, reason: 'KMSKeyNotFound' });
  });

  it('fails closed when KMS does not answer', async () => {
    const { keyId } = await moto.createKey('outage');
    const kms = await source({ keyId });
    await moto.stop();
    await expect(seal(new KeySourceSet(kms))).rejects.toMatchObject({
      code: 'S3SEAL_KEY_PROVIDER_UNAVAILABLE',
    });
    await expect(kms.check()).resolves.toMatchObject({ ok: false, reason: 'KMSUnreachable' });
  });
});
