// Proxy logs of the integration run, kept and scanned for secrets. Every stack (stack.ts) tees
// its proxy's log, at trace level, into .cache/proxy-logs/<pid>-<n>.jsonl, and its stop()
// scans that file: for the secrets the stack itself handed the proxy (MinIO secret key, KEK,
// Valkey password) and for the shapes of request credentials no test can list in advance
// (SigV4 signatures, presigned X-Amz-* auth parameters, Authorization headers). A stack whose
// log holds one fails its suite's afterAll; the file is kept for a look.
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Logger } from 'pino';

export const PROXY_LOG_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../../.cache/proxy-logs');

let counter = 0;

/**
 * A trace-level logger writing JSON lines (synchronously, so nothing is lost at stop) to a
 * fresh file, and also to stdout at `echoLevel` when given (S3SEAL_TEST_LOG).
 */
export function teedProxyLog(echoLevel: string | undefined): { log: Logger; file: string } {
  mkdirSync(PROXY_LOG_DIR, { recursive: true });
  const file = join(PROXY_LOG_DIR, `${process.pid}-${++counter}-${Date.now()}.jsonl`);
  const streams: pino.StreamEntry[] = [
    { level: 'trace', stream: pino.destination({ dest: file, sync: true }) },
  ];
  if (echoLevel !== undefined && echoLevel !== 'silent') {
    streams.push({ level: echoLevel as pino.Level, stream: pino.destination(1) });
  }
  return { log: pino({ level: 'trace' }, pino.multistream(streams)), file };
}

/** Credential shapes that must never be in a log, whatever their value. */
const CREDENTIAL_PATTERNS: readonly [string, RegExp][] = [
  ['an X-Amz-Signature parameter', /x-amz-signature=/i],
  ['an X-Amz-Credential parameter', /x-amz-credential=/i],
  ['an X-Amz-Security-Token parameter', /x-amz-security-token/i],
  ['a SigV4 Authorization header', /AWS4-HMAC-SHA256\s+Credential=/i],
  ['a SigV4 signature (64 hex digits)', /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/i],
];

export interface LogLeak {
  readonly what: string;
  readonly line: number;
}

/** Leaks in a log text: each given secret (named) and each credential shape. */
export function findLeaks(text: string, secrets: Readonly<Record<string, string>>): LogLeak[] {
  const leaks: LogLeak[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    for (const [name, value] of Object.entries(secrets)) {
      if (value.length >= 8 && line.includes(value)) leaks.push({ what: name, line: index + 1 });
    }
    for (const [what, pattern] of CREDENTIAL_PATTERNS) {
      if (pattern.test(line)) leaks.push({ what, line: index + 1 });
    }
  });
  return leaks;
}

/** Throws when the log file holds a secret or a credential (without printing the secret). */
export async function assertNoSecretsInLog(
  file: string,
  secrets: Readonly<Record<string, string>>,
): Promise<void> {
  const leaks = findLeaks(await readFile(file, 'utf8'), secrets);
  if (leaks.length > 0) {
    const list = leaks.map((l) => `${l.what} on line ${l.line}`).join('; ');
    throw new Error(`the proxy log ${file} holds secrets: ${list}`);
  }
}
