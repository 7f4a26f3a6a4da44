import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type MinioServer, startMinio } from '@s3seal/testkit';

import { isProcessGone, startTwo } from '../helpers/processes.js';

async function roundTrip(minio: MinioServer, bucket: string): Promise<void> {
  const s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    forcePathStyle: true,
  });
  try {
    const body = randomBytes(200_000);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/object.bin', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/object.bin' }));
    expect(got.Body).toBeDefined();
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  } finally {
    s3.destroy();
  }
}

describe('startMinio', () => {
  let minio: MinioServer;

  beforeAll(async () => {
    minio = await startMinio();
  });

  afterAll(async () => {
    await minio?.stop();
  });

  it('serves PutObject and GetObject on its endpoint', async () => {
    await roundTrip(minio, 'rig-roundtrip');
  });

  it('stores buckets under dataDir', async () => {
    await roundTrip(minio, 'rig-datadir');
    expect(await readdir(minio.dataDir)).toContain('rig-datadir');
  });

  it('starts two servers side by side on distinct ports', async () => {
    const [a, b] = await startTwo(() => startMinio());
    try {
      expect(a.endpoint).not.toBe(b.endpoint);
      expect(a.accessKeyId).not.toBe(b.accessKeyId);
      await Promise.all([roundTrip(a, 'rig-a'), roundTrip(b, 'rig-b')]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('leaves no process behind after stop', async () => {
    const server = await startMinio();
    expect(server.pid).toBeDefined();
    await server.stop();
    expect(isProcessGone(server.pid!)).toBe(true);
  });
});
