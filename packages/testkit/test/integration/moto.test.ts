import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type MotoServer, startMoto } from '@s3seal/testkit';

describe('startMoto', () => {
  let moto: MotoServer;

  beforeAll(async () => {
    moto = await startMoto();
  });

  afterAll(async () => {
    await moto?.stop();
  });

  it('creates a key and an alias', async () => {
    const { keyId, arn } = await moto.createKey('rig test');
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(arn).toBe(`arn:aws:kms:us-east-1:123456789012:key/${keyId}`);
    await moto.createAlias('rig-test', keyId);
    const res = await moto.kms('DescribeKey', { KeyId: 'alias/rig-test' });
    expect(res.status).toBe(200);
    expect(res.body.KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'rig test' });
  });

  it('generates a data key bound to its encryption context', async () => {
    const { keyId } = await moto.createKey();
    const context = { bucket: 'b', key: 'k' };
    const generated = await moto.kms('GenerateDataKey', {
      KeyId: keyId,
      KeySpec: 'AES_256',
      EncryptionContext: context,
    });
    expect(generated.status).toBe(200);
    const plaintext = Buffer.from(generated.body.Plaintext as string, 'base64');
    expect(plaintext).toHaveLength(32);
    const blob = generated.body.CiphertextBlob as string;

    const ok = await moto.kms('Decrypt', { CiphertextBlob: blob, EncryptionContext: context });
    expect(ok.status).toBe(200);
    expect(ok.body.KeyId).toBe(`arn:aws:kms:us-east-1:123456789012:key/${keyId}`);
    expect(Buffer.from(ok.body.Plaintext as string, 'base64').equals(plaintext)).toBe(true);

    for (const other of [{ bucket: 'b', key: 'other' }, {}]) {
      const bad = await moto.kms('Decrypt', { CiphertextBlob: blob, EncryptionContext: other });
      expect(bad.status).toBe(400);
      expect(bad.body.__type).toBe('InvalidCiphertextException');
    }
  });

  it('forgets every key on reset()', async () => {
    const { keyId } = await moto.createKey();
    await moto.reset();
    const res = await moto.kms('DescribeKey', { KeyId: keyId });
    expect(res.status).toBe(400);
    expect(res.body.__type).toBe('NotFoundException');
  });
});
