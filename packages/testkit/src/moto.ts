// moto's server mode (moto_server, installed by scripts/test-deps.sh into a venv) as an AWS KMS
// endpoint. The rig's own KMS calls are JSON requests made with fetch and signed with aws4 (as
// the proxy signs its upstream requests), independent of the AWS SDK the code under test uses.
import aws4 from 'aws4';

import { findBinary } from './binaries.js';
import { RigError } from './errors.js';
import { freePort, retryOnPortClash } from './ports.js';
import { httpStatus } from './probes.js';
import { startServerProcess } from './process.js';
import { createRunDir } from './run-dir.js';

/** A KMS JSON API answer: the status and the parsed body (`__type` and `message` on an error). */
export interface KmsResponse {
  status: number;
  body: Record<string, unknown> & { __type?: string; message?: string };
}

export interface MotoServer {
  /** `http://127.0.0.1:<port>`: the `endpoint` of an AWS SDK client (any service moto emulates). */
  readonly endpoint: string;
  readonly region: 'us-east-1';
  /** moto accepts any credentials; these are the conventional ones. */
  readonly accessKeyId: 'test';
  readonly secretAccessKey: 'test';
  readonly pid: number;
  readonly logPath: string;
  /**
   * One SigV4-signed KMS call: `operation` is the action (`GenerateDataKey`), `body` its JSON
   * request. Resolves with any status; throws only when moto does not answer.
   */
  kms(operation: string, body?: Record<string, unknown>): Promise<KmsResponse>;
  /** A symmetric (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) key. */
  createKey(description?: string): Promise<{ keyId: string; arn: string }>;
  /** `alias` with or without its `alias/` prefix. */
  createAlias(alias: string, keyId: string): Promise<void>;
  /** Forgets every key and alias (moto's `/moto-api/reset`). */
  reset(): Promise<void>;
  /** SIGTERM and wait; idempotent. */
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  readyTimeoutMs?: number;
}

const REGION = 'us-east-1';
const ACCESS_KEY_ID = 'test';
const SECRET_ACCESS_KEY = 'test';

/** Starts `moto_server` on a free loopback port and waits until its API answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const binary = findBinary('moto_server');
  return retryOnPortClash(async () => {
    const runDir = await createRunDir('moto');
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'moto',
      command: binary,
      args: ['-H', '127.0.0.1', '-p', String(port)],
      env: {
        // Log lines reach the log file as they happen, not when Python's buffer fills.
        PYTHONUNBUFFERED: '1',
        // Not the user's ~/.aws: moto itself reads no credentials, but boto3 inside it might.
        AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION: REGION,
        HOME: runDir,
      },
      runDir,
      // moto's own API (it answers 201 there).
      isReady: async (signal) => {
        const status = await httpStatus(`${endpoint}/moto-api/config`, signal);
        return status >= 200 && status < 300;
      },
      // Python imports take a few seconds on a cold page cache.
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    });

    const kms = (operation: string, body: Record<string, unknown> = {}): Promise<KmsResponse> =>
      kmsRequest(endpoint, operation, body);
    const must = async (operation: string, body: Record<string, unknown>): Promise<KmsResponse> => {
      const res = await kms(operation, body);
      if (res.status !== 200)
        throw new RigError(
          'S3SEAL_RIG_SERVER_SETUP',
          `moto KMS ${operation} answered ${res.status}: ${res.body.__type ?? ''} ${res.body.message ?? ''}`,
        );
      return res;
    };

    return {
      endpoint,
      region: REGION,
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET_ACCESS_KEY,
      pid: server.pid,
      logPath: server.logPath,
      kms,
      createKey: async (description = 's3seal test key') => {
        const res = await must('CreateKey', {
          Description: description,
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
        });
        const meta = res.body.KeyMetadata as { KeyId: string; Arn: string };
        return { keyId: meta.KeyId, arn: meta.Arn };
      },
      createAlias: async (alias, keyId) => {
        await must('CreateAlias', {
          AliasName: alias.startsWith('alias/') ? alias : `alias/${alias}`,
          TargetKeyId: keyId,
        });
      },
      reset: async () => {
        const res = await fetch(`${endpoint}/moto-api/reset`, {
          method: 'POST',
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status !== 200)
          throw new RigError('S3SEAL_RIG_SERVER_SETUP', `moto /moto-api/reset answered ${res.status}`);
      },
      stop: server.stop,
    };
  });
}

/** POST / with `X-Amz-Target: TrentService.<operation>`, signed with SigV4 (aws4) for service kms. */
async function kmsRequest(
  endpoint: string,
  operation: string,
  body: Record<string, unknown>,
): Promise<KmsResponse> {
  const url = new URL(endpoint);
  const signed = aws4.sign(
    {
      host: url.host,
      method: 'POST',
      path: '/',
      service: 'kms',
      region: REGION,
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `TrentService.${operation}`,
      },
      body: JSON.stringify(body),
    },
    { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  );
  // fetch sets Host (and Content-Length) itself, to the same values that were signed.
  const headers = Object.fromEntries(
    Object.entries(signed.headers ?? {}).filter(([name]) => !/^(host|content-length)$/i.test(name)),
  ) as Record<string, string>;
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers,
    body: signed.body as string,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as KmsResponse['body']) };
}
