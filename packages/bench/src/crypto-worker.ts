#!/usr/bin/env node
// Child process of the crypto phase, started pinned to one core: seals and opens plaintext with
// the core format's EncryptStream/DecryptStream (as the proxy does, minus the network) and prints
// the throughput of each run as JSON.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DecryptStream,
  describeLayout,
  EncryptStream,
  Keyring,
  planRead,
  sealEnvelope,
  singleSegmentKey,
} from '@s3seal/core';
import { MIB } from './units.js';

export interface CryptoWorkerInput {
  readonly bytes: number;
  readonly bufferBytes: number;
  readonly chunkSize: number;
  readonly runs: number;
}

export interface CryptoWorkerOutput {
  readonly encryptMiBPerSecond: readonly number[];
  readonly decryptMiBPerSecond: readonly number[];
}

/** Input arrives in 1 MiB buffers, as a body does after the HTTP parser has gathered it. */
const FEED_BYTES = MIB;

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as CryptoWorkerInput;
  const keyring = Keyring.fromKeys('bench', new Map([['v1', randomBytes(32)]]), 'v1');
  const { info, dek } = sealEnvelope(keyring, {
    objectKey: 'bench',
    layout: 'single',
    plaintextSize: input.bufferBytes,
    chunkSize: input.chunkSize,
  });
  const key = singleSegmentKey(info, dek);
  const plaintext = slices(randomBytes(input.bufferBytes));
  const encrypt = (): EncryptStream =>
    new EncryptStream({
      algorithm: info.algorithm,
      chunkSize: input.chunkSize,
      key,
      plaintextSize: input.bufferBytes,
    });
  const sealedParts: Buffer[] = [];
  await pipeline(Readable.from(plaintext), encrypt(), collect(sealedParts));
  const sealed = slices(Buffer.concat(sealedParts));
  const layout = describeLayout(input.chunkSize, [{ plaintextSize: input.bufferBytes, headerBytes: 0 }]);
  const plan = planRead(layout);
  const decrypt = (): DecryptStream =>
    new DecryptStream({ algorithm: info.algorithm, layout, plan, segmentKey: () => key });

  const passes = Math.max(1, Math.round(input.bytes / input.bufferBytes));
  const output: { encryptMiBPerSecond: number[]; decryptMiBPerSecond: number[] } = {
    encryptMiBPerSecond: [],
    decryptMiBPerSecond: [],
  };
  for (let run = -1; run < input.runs; run++) {
    const enc = await timePasses(passes, () => pipeline(Readable.from(plaintext), encrypt(), discard()));
    const dec = await timePasses(passes, () => pipeline(Readable.from(sealed), decrypt(), discard()));
    if (run < 0) continue;
    output.encryptMiBPerSecond.push((passes * input.bufferBytes) / MIB / enc);
    output.decryptMiBPerSecond.push((passes * input.bufferBytes) / MIB / dec);
  }
  process.stdout.write(`${JSON.stringify(output satisfies CryptoWorkerOutput)}\n`);
}

async function timePasses(passes: number, pass: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < passes; i++) await pass();
  return (performance.now() - t0) / 1000;
}

function slices(buffer: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += FEED_BYTES) out.push(buffer.subarray(at, at + FEED_BYTES));
  return out;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

function collect(into: Buffer[]): Writable {
  return new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      into.push(chunk);
      done();
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`crypto-worker: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
