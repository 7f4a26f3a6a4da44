// A real Vault server (HashiCorp Vault, built by scripts/test-deps.sh; it stands in for OpenBao,
// which keeps Vault's HTTP API) in dev mode, with the transit secrets engine mounted. Everything
// is driven through Vault's HTTP API with fetch: no Vault client library.
import { randomBytes } from 'node:crypto';

import { findBinary } from './binaries.js';
import { RigError } from './errors.js';
import { killServer, pauseServer, resumeServer } from './faults.js';
import { freePort, retryOnPortClash } from './ports.js';
import { httpStatus } from './probes.js';
import { type ServerProcess, startServerProcess } from './process.js';
import { createRunDir, releaseRunDir } from './run-dir.js';

/** What `createKey` sends to `POST /v1/<mount>/keys/<name>`. */
export interface TransitKeyOptions {
  /** Key derivation: every encrypt/decrypt/rewrap then needs a base64 `context`. */
  derived?: boolean;
  /** Default aes256-gcm96 (Vault's default). */
  type?: string;
  /** Allows `GET /v1/<mount>/export/...` and plaintext backups. */
  exportable?: boolean;
}

/** A Vault HTTP API answer: the status and the parsed JSON body (undefined for 204). */
export interface VaultResponse {
  status: number;
  body: VaultBody | undefined;
}

export interface VaultBody {
  data?: Record<string, unknown>;
  auth?: { client_token: string; policies: string[]; lease_duration: number; renewable: boolean };
  errors?: string[];
  [key: string]: unknown;
}

export interface VaultServer {
  /** `http://127.0.0.1:<port>` (VAULT_ADDR). */
  readonly address: string;
  /** The dev root token (VAULT_TOKEN), random per server. */
  readonly rootToken: string;
  /** Where the transit engine is mounted (no slashes): requests go to `/v1/<mount>/...`. */
  readonly mount: string;
  /** Of the running process; changes on restart(). */
  readonly pid: number;
  readonly logPath: string;
  /**
   * One call of Vault's HTTP API, `path` relative to `/v1/` (`transit/encrypt/k`), with the root
   * token unless `token` is given. Resolves with any status; throws only when Vault does not answer.
   */
  request(method: string, path: string, body?: unknown, options?: { token?: string }): Promise<VaultResponse>;
  /** Creates a transit key on the mount (aes256-gcm96 unless `type` says otherwise). */
  createKey(name: string, options?: TransitKeyOptions): Promise<void>;
  /** Adds a key version: new encryptions then produce `vault:v<n+1>:` ciphertexts. */
  rotateKey(name: string): Promise<void>;
  /**
   * A new (renewable, 1 h) token. `policy`: omitted gives the mount's transit policy
   * (`transitPolicy(mount)`: encrypt, decrypt, rewrap, datakey, read keys); a string is the text of
   * an HCL policy written for this token; an array names existing policies (`[]`: only Vault's
   * `default` policy, not the root token's policies that Vault would copy otherwise).
   */
  createToken(policy?: string | readonly string[], options?: { ttl?: string }): Promise<string>;
  /** SIGSTOP: Vault keeps its socket open but answers nothing until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, as a crash: requests are then refused until restart(). */
  kill(): Promise<void>;
  /**
   * Stops Vault (if it still runs) and starts a new dev server on the same address with the same
   * root token and the transit mount. Dev storage is in memory: keys, policies and tokens made
   * before are gone (create them again; old ciphertexts cannot be decrypted by the new keys).
   */
  restart(): Promise<void>;
  /** SIGTERM and wait; idempotent. */
  stop(): Promise<void>;
}

export interface StartVaultOptions {
  /** Default `transit`. */
  mount?: string;
  readyTimeoutMs?: number;
}

/** The HCL policy `createToken()` gives by default: the transit calls a key provider makes. */
export function transitPolicy(mount: string): string {
  return ['encrypt', 'decrypt', 'rewrap', 'datakey']
    .map((op) => `path "${mount}/${op}/*" {\n  capabilities = ["update"]\n}`)
    .concat(`path "${mount}/keys/*" {\n  capabilities = ["read"]\n}`)
    .join('\n');
}

/**
 * Starts `vault server -dev` on a free loopback port with a random root token, waits until
 * `/v1/sys/health` answers 200 and mounts the transit engine.
 */
export async function startVault(options: StartVaultOptions = {}): Promise<VaultServer> {
  const binary = findBinary('vault');
  const mount = (options.mount ?? 'transit').replace(/^\/+|\/+$/g, '');
  const rootToken = `s3seal-root-${randomBytes(12).toString('hex')}`;

  const launch = async (port: number): Promise<ServerProcess> => {
    const runDir = await createRunDir('vault');
    const address = `http://127.0.0.1:${port}`;
    const server = await startServerProcess({
      name: 'vault',
      command: binary,
      args: [
        'server',
        '-dev',
        `-dev-root-token-id=${rootToken}`,
        `-dev-listen-address=127.0.0.1:${port}`,
        // No ~/.vault-token written, no kv engine at secret/ (not needed).
        '-dev-no-store-token',
        '-dev-no-kv',
        '-log-level=info',
      ],
      env: {
        // The CLI reads these; set so nothing falls back to a user's ~/.vault-token or VAULT_ADDR.
        VAULT_ADDR: address,
        VAULT_TOKEN: rootToken,
        VAULT_DEV_ROOT_TOKEN_ID: rootToken,
        VAULT_DEV_LISTEN_ADDRESS: `127.0.0.1:${port}`,
        // Dev mode already runs with disable_mlock; kept explicit for a locked-down container.
        VAULT_DISABLE_MLOCK: 'true',
        HOME: runDir,
      },
      runDir,
      isReady: async (signal) => (await httpStatus(`${address}/v1/sys/health`, signal)) === 200,
      readyTimeoutMs: options.readyTimeoutMs,
    });
    try {
      await call(address, rootToken, 'POST', `sys/mounts/${mount}`, { type: 'transit' }, [204]);
    } catch (err: unknown) {
      await server.stop();
      throw err;
    }
    return server;
  };

  const first = await retryOnPortClash(async () => {
    const port = await freePort();
    return { port, server: await launch(port) };
  });
  const { port } = first;
  let server = first.server;
  // Killed on purpose (a crash for a test), so its run dir goes like after a clean stop.
  let isKilled = false;
  const stopCurrent = async (): Promise<void> => {
    if (isKilled) await releaseRunDir(server.runDir);
    else await server.stop();
  };
  const address = `http://127.0.0.1:${port}`;

  const request = (
    method: string,
    path: string,
    body?: unknown,
    opts: { token?: string } = {},
  ): Promise<VaultResponse> => vaultFetch(address, opts.token ?? rootToken, method, path, body);

  return {
    address,
    rootToken,
    mount,
    get pid() {
      return server.pid;
    },
    get logPath() {
      return server.logPath;
    },
    request,
    createKey: async (name, keyOptions = {}) => {
      await call(address, rootToken, 'POST', `${mount}/keys/${encodeURIComponent(name)}`, {
        type: keyOptions.type ?? 'aes256-gcm96',
        derived: keyOptions.derived ?? false,
        exportable: keyOptions.exportable ?? false,
      });
    },
    rotateKey: async (name) => {
      await call(address, rootToken, 'POST', `${mount}/keys/${encodeURIComponent(name)}/rotate`, {});
    },
    createToken: async (policy, tokenOptions = {}) => {
      let policies: readonly string[];
      if (typeof policy === 'string' || policy === undefined) {
        const policyName = `s3seal-${randomBytes(6).toString('hex')}`;
        await call(address, rootToken, 'PUT', `sys/policies/acl/${policyName}`, {
          policy: policy ?? transitPolicy(mount),
        });
        policies = [policyName];
      } else {
        // An empty list would make Vault copy the parent's (root's) policies.
        policies = policy.length === 0 ? ['default'] : policy;
      }
      const res = await call(address, rootToken, 'POST', 'auth/token/create', {
        policies,
        ttl: tokenOptions.ttl ?? '1h',
        renewable: true,
      });
      const token = res.body?.auth?.client_token;
      if (typeof token !== 'string') throw vaultError('POST auth/token/create', res, 'no auth.client_token');
      return token;
    },
    pause: () => pauseServer(server),
    resume: () => resumeServer(server),
    kill: async () => {
      await killServer(server);
      isKilled = true;
    },
    restart: async () => {
      await stopCurrent();
      // The same port again: a client configured with `address` must reach the new server.
      server = await launch(port);
      isKilled = false;
    },
    stop: stopCurrent,
  };
}

async function vaultFetch(
  address: string,
  token: string,
  method: string,
  path: string,
  body: unknown,
): Promise<VaultResponse> {
  const res = await fetch(`${address}/v1/${path.replace(/^\/+/, '')}`, {
    method,
    headers: {
      'X-Vault-Token': token,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as VaultBody) };
}

/** A setup call that must succeed (status in `ok`, default any 2xx); a RigError quoting Vault otherwise. */
async function call(
  address: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  ok?: readonly number[],
): Promise<VaultResponse> {
  const res = await vaultFetch(address, token, method, path, body);
  const isOk = ok === undefined ? res.status >= 200 && res.status < 300 : ok.includes(res.status);
  if (!isOk) throw vaultError(`${method} /v1/${path}`, res);
  return res;
}

function vaultError(what: string, res: VaultResponse, detail?: string): RigError {
  const errors = res.body?.errors?.join('; ') ?? detail ?? JSON.stringify(res.body);
  return new RigError('S3SEAL_RIG_SERVER_SETUP', `vault ${what} answered ${res.status}: ${errors}`);
}
