#!/usr/bin/env node
// `make run`: MinIO and Valkey on free loopback ports until Ctrl-C. Prints the connection settings as
// env lines on stdout (`eval`-able, or paste into an .env file); messages go to stderr.
import { startRig } from './rig.js';

const rig = await startRig({ minio: true, valkey: true });
const { minio, valkey } = rig;
process.stdout.write(
  [
    `AWS_ENDPOINT_URL=${minio.endpoint}`,
    `AWS_REGION=${minio.region}`,
    `AWS_ACCESS_KEY_ID=${minio.accessKeyId}`,
    `AWS_SECRET_ACCESS_KEY=${minio.secretAccessKey}`,
    `VALKEY_URL=${valkey.url}`,
    '',
  ].join('\n'),
);
process.stderr.write('s3seal rig: MinIO and Valkey running; Ctrl-C stops them\n');

let isStopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (isStopping) return;
  isStopping = true;
  process.stderr.write(`s3seal rig: ${signal}, stopping\n`);
  rig.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`s3seal rig: stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
