import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, startProxy } from '@s3seal/proxy';
import { startRig } from '@s3seal/testkit';
import type { CommandModule } from 'yargs';
import { writeNewKeyring } from './keygen.js';

interface DevArgs {
  port: number;
  keyring: string;
}

/**
 * A local stack in the foreground: MinIO and Valkey (redis-server) on free loopback ports and
 * the proxy in front of MinIO with a development keyring, until Ctrl-C.
 */
export const devCommand: CommandModule<object, DevArgs> = {
  command: 'dev',
  describe: 'run MinIO, Valkey and the s3seal proxy locally (a development stack)',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 8080, describe: 'port for the proxy (0: any free port)' })
      .option('keyring', {
        type: 'string',
        default: '.cache/dev-keyring',
        describe: 'development keyring directory (created if missing)',
      }),
  handler: async (args) => {
    const keyringDir = resolve(args.keyring);
    if (!existsSync(join(keyringDir, 'active'))) await writeNewKeyring(keyringDir);
    const rig = await startRig({ minio: true, valkey: true });
    const bucket = 'demo';
    const config = loadConfig([], {
      S3SEAL_LISTEN: `127.0.0.1:${args.port}`,
      S3SEAL_UPSTREAM: rig.minio.endpoint,
      S3SEAL_KEK_DIR: keyringDir,
      // Multipart uploads keep their in-flight state in the stack's Valkey.
      S3SEAL_VALKEY_URL: rig.valkey.url,
      AWS_ACCESS_KEY_ID: rig.minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: rig.minio.secretAccessKey,
    });
    const proxy = await startProxy(config);
    const env = `AWS_ACCESS_KEY_ID=${rig.minio.accessKeyId} AWS_SECRET_ACCESS_KEY=${rig.minio.secretAccessKey} AWS_REGION=us-east-1`;
    process.stdout.write(
      [
        '',
        's3seal development stack',
        `  proxy (point apps here)  ${proxy.url}`,
        `  MinIO (raw backend)      ${rig.minio.endpoint}`,
        `  Valkey                   ${rig.valkey.url}`,
        `  access key / secret      ${rig.minio.accessKeyId} / ${rig.minio.secretAccessKey}`,
        `  keyring                  ${keyringDir}`,
        '',
        'Try it (another terminal):',
        `  export ${env}`,
        `  aws --endpoint-url ${proxy.url} s3 mb s3://${bucket}`,
        `  echo 'hello, sealed world' > hello.txt`,
        `  aws --endpoint-url ${proxy.url} s3 cp hello.txt s3://${bucket}/hello.txt`,
        `  aws --endpoint-url ${rig.minio.endpoint} s3 cp s3://${bucket}/hello.txt - | xxd | head   # ciphertext at rest`,
        `  aws --endpoint-url ${proxy.url} s3 cp s3://${bucket}/hello.txt -                       # plaintext back`,
        '',
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
    await new Promise<void>((done) => {
      const stop = (): void => done();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await proxy.close();
    await rig.stop();
  },
};
