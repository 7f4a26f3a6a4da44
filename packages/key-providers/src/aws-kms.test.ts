import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsKmsSource } from './aws-kms.js';

// How KMS error answers become s3seal's: a loopback server answers each call with the JSON
// error document KMS sends, parsed by the real AWS SDK. (moto, in the integration suite, does
// not refuse crypto with a disabled key, so these answers are sent by hand here.)
const ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const context = { bucket: 'b', bindingDigest: Buffer.alloc(32) };

describe('AwsKmsSource error mapping', () => {
  let server: Server;
  let answer: { status: number; type: string } = { status: 400, type: 'DisabledException' };
  let endpoint = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: answer.type, message: `answered ${answer.type}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const kms = () =>
    AwsKmsSource.create({
      id: 'kms',
      keyId: ARN,
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    });

  it.each([
    [400, 'DisabledException', 'S3SEAL_KEY_PROVIDER_DENIED'],
    [400, 'AccessDeniedException', 'S3SEAL_KEY_PROVIDER_DENIED'],
    [400, 'KMSInvalidStateException', 'S3SEAL_KEY_PROVIDER_DENIED'],
    [400, 'InvalidCiphertextException', 'S3SEAL_KEY_UNWRAP_FAILED'],
    [500, 'KMSInternalException', 'S3SEAL_KEY_PROVIDER_UNAVAILABLE'],
    [400, 'ThrottlingException', 'S3SEAL_KEY_PROVIDER_UNAVAILABLE'],
  ])('%i %s on Decrypt is %s', async (status, type, code) => {
    answer = { status, type };
    const source = await kms();
    try {
      await expect(source.unwrap({ version: ARN, wrapped: Buffer.alloc(64) }, context)).rejects.toMatchObject(
        {
          code,
        },
      );
    } finally {
      await source.close();
    }
  });

  it('refuses an object naming a key it does not trust before asking KMS', async () => {
    answer = { status: 500, type: 'ShouldNotBeAsked' };
    const source = await kms();
    const other = ARN.replace('1111', '9999');
    try {
      await expect(
        source.unwrap({ version: other, wrapped: Buffer.alloc(64) }, context),
      ).rejects.toMatchObject({
        code: 'S3SEAL_KEY_VERSION_UNKNOWN',
      });
    } finally {
      await source.close();
    }
  });
});
