// The `containers` backend (S3SEAL_RIG_BACKEND=containers): the same servers as images run by a
// Docker engine through testcontainers. Loaded only on demand, so the default `process` backend
// never imports testcontainers.
import type * as Testcontainers from 'testcontainers';

import { RigError } from './errors.js';
import { type MinioServer, minioCredentials, type StartMinioOptions } from './minio.js';
import type { StartValkeyOptions, ValkeyServer } from './valkey.js';

const MINIO_IMAGE = 'minio/minio:latest';
const VALKEY_IMAGE = 'valkey/valkey:8';

export async function startMinioContainer(options: StartMinioOptions): Promise<MinioServer> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const region = options.region ?? 'us-east-1';
  const { accessKeyId, secretAccessKey } = minioCredentials();
  const dataDir = '/data';
  const container = await new GenericContainer(MINIO_IMAGE)
    .withCommand(['server', dataDir, '--address=:9000'])
    .withEnvironment({
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_SITE_REGION: region,
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
      MINIO_CI_CD: 'on',
    })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000))
    .withStartupTimeout(options.readyTimeoutMs ?? 60_000)
    .start();
  return {
    endpoint: `http://${container.getHost()}:${container.getMappedPort(9000)}`,
    region,
    accessKeyId,
    secretAccessKey,
    // Inside the container: inspect it with `docker exec`, not the host filesystem.
    dataDir,
    pid: undefined,
    stop: async () => {
      await container.stop();
    },
  };
}

export async function startValkeyContainer(options: StartValkeyOptions): Promise<ValkeyServer> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const container = await new GenericContainer(VALKEY_IMAGE)
    .withCommand(['valkey-server', '--save', '', '--appendonly', 'no'])
    .withExposedPorts(options.port === undefined ? 6379 : { container: 6379, host: options.port })
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(options.readyTimeoutMs ?? 60_000)
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    pid: undefined,
    stop: async () => {
      await container.stop();
    },
  };
}

/** testcontainers, once a container engine has answered; never falls back to processes. */
async function loadTestcontainers(): Promise<typeof Testcontainers> {
  const testcontainers = await import('testcontainers');
  try {
    await testcontainers.getContainerRuntimeClient();
  } catch (err: unknown) {
    throw new RigError(
      'S3SEAL_RIG_NO_CONTAINER_ENGINE',
      'S3SEAL_RIG_BACKEND=containers but no Docker engine is reachable (DOCKER_HOST, /var/run/docker.sock); ' +
        'start one or unset S3SEAL_RIG_BACKEND to run the servers as local processes',
      { cause: err },
    );
  }
  return testcontainers;
}
