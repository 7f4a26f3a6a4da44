// Crypto alone, on one core: the core format's encrypt and decrypt throughput (crypto-worker.ts)
// against `openssl speed -evp aes-256-gcm` at the same chunk size, both pinned to CPU 0.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tasksetPrefix } from '../affinity.js';
import type { BenchConfig } from '../config.js';
import type { CryptoWorkerInput, CryptoWorkerOutput } from '../crypto-worker.js';
import { median } from '../stats.js';
import { MIB } from '../units.js';

const run = promisify(execFile);
const WORKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../crypto-worker.js');

export interface CryptoChunkResult {
  readonly chunkSize: number;
  readonly encryptMiBPerSecond: number;
  readonly decryptMiBPerSecond: number;
  readonly opensslEncryptMiBPerSecond: number;
  readonly opensslDecryptMiBPerSecond: number;
  readonly samples: CryptoWorkerOutput;
}

export interface CryptoResult {
  readonly cpu: string;
  readonly bytesPerRun: number;
  readonly opensslVersion: string;
  readonly chunks: readonly CryptoChunkResult[];
}

export async function runCrypto(config: BenchConfig, log: (line: string) => void): Promise<CryptoResult> {
  const cpu = '0';
  const pin = tasksetPrefix(cpu);
  const opensslVersion = (await run('openssl', ['version'])).stdout.trim();
  const chunks: CryptoChunkResult[] = [];
  for (const chunkSize of config.cryptoChunkSizes) {
    const input: CryptoWorkerInput = {
      bytes: config.cryptoBytes,
      bufferBytes: config.cryptoBufferBytes,
      chunkSize,
      runs: config.runs,
    };
    const { stdout } = await run(
      pin[0]!,
      [...pin.slice(1), process.execPath, WORKER, JSON.stringify(input)],
      {
        maxBuffer: 1 << 20,
      },
    );
    const samples = JSON.parse(stdout) as CryptoWorkerOutput;
    const opensslEncrypt: number[] = [];
    const opensslDecrypt: number[] = [];
    const seconds = config.mode === 'quick' ? 1 : 3;
    for (let i = 0; i < config.runs; i++) {
      opensslEncrypt.push(await opensslSpeed(pin, chunkSize, seconds, false));
      opensslDecrypt.push(await opensslSpeed(pin, chunkSize, seconds, true));
    }
    const result: CryptoChunkResult = {
      chunkSize,
      encryptMiBPerSecond: median(samples.encryptMiBPerSecond),
      decryptMiBPerSecond: median(samples.decryptMiBPerSecond),
      opensslEncryptMiBPerSecond: median(opensslEncrypt),
      opensslDecryptMiBPerSecond: median(opensslDecrypt),
      samples,
    };
    log(
      `crypto ${chunkSize / 1024} KiB chunks: encrypt ${result.encryptMiBPerSecond.toFixed(0)} MiB/s, ` +
        `decrypt ${result.decryptMiBPerSecond.toFixed(0)} MiB/s; openssl ${result.opensslEncryptMiBPerSecond.toFixed(0)}` +
        ` / ${result.opensslDecryptMiBPerSecond.toFixed(0)} MiB/s`,
    );
    chunks.push(result);
  }
  return { cpu, bytesPerRun: config.cryptoBytes, opensslVersion, chunks };
}

/** MiB/s from `openssl speed -mr`, whose result line is `+F:<n>:<cipher>:<bytes per second>`. */
async function opensslSpeed(
  pin: string[],
  bytes: number,
  seconds: number,
  isDecrypt: boolean,
): Promise<number> {
  const args = ['speed', '-mr', '-seconds', String(seconds), ...(isDecrypt ? ['-decrypt'] : [])];
  args.push('-evp', 'aes-256-gcm', '-bytes', String(bytes));
  const { stdout } = await run(pin[0]!, [...pin.slice(1), 'openssl', ...args]);
  const line = stdout.split('\n').find((l) => l.startsWith('+F:'));
  const value = Number(line?.split(':')[3]);
  if (!Number.isFinite(value)) throw new Error(`unexpected openssl speed output: ${stdout.slice(0, 300)}`);
  return value / MIB;
}
