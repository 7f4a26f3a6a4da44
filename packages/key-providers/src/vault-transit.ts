import { readFile } from 'node:fs/promises';
import { associatedDataOf, CoreError } from '@s3seal/core';
import type { KeySource, WrapContext, WrappedDataKey } from '@s3seal/core';
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { denied, describeFailure, unavailable, unwrapFailed } from './errors.js';
import type { KeyManagerHealth, ProbedKeySource } from './health.js';

export type VaultAuth =
  | { readonly method: 'token'; readonly token: string }
  /** A file holding the token (a mounted Secret, a Vault Agent sink): re-read when Vault refuses it. */
  | { readonly method: 'token-file'; readonly file: string }
  /** Kubernetes auth: log in with the pod's service-account token as `role`. */
  | {
      readonly method: 'kubernetes';
      readonly role: string;
      readonly mount: string;
      readonly jwtFile: string;
    };

export interface VaultTransitOptions {
  /** Recorded in each object; see KeySource.id. */
  readonly id: string;
  readonly address: string | URL;
  /** Transit mount path (default "transit"). */
  readonly mount?: string;
  /** The Transit key: an AEAD type (aes256-gcm96, chacha20-poly1305), which takes associated data. */
  readonly key: string;
  readonly namespace?: string | undefined;
  /** None: only reachability can be checked (an operator probing a policy with Kubernetes auth). */
  readonly auth?: VaultAuth | undefined;
  /** Extra CAs (PEM) for Vault's certificate, besides the system ones. */
  readonly caPem?: string | Buffer | undefined;
  /** Per call, connect to last byte (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * How the object's context reaches Transit. A key created with `derived=true` takes it as
 * `context` (a per-context key is derived from it), which Transit's `rewrap` also accepts, so a
 * rewrap after a key rotation never shows Vault's answer to anyone. Any other AEAD key takes it
 * as `associated_data`, which Transit's `rewrap` ignores (Vault 1.21 path_rewrap.go passes no
 * associated data), so there a rewrap is decrypt then encrypt. Either binds the data key to the
 * object's bucket, key and metadata.
 */
type ContextField = 'context' | 'associated_data';

const VERSIONED_CIPHERTEXT = /^vault:(v[1-9][0-9]{0,8}):([A-Za-z0-9+/]+={0,2})$/;
// Vault answers a failed AEAD open with 400 and one of these (per version and engine).
const AUTHENTICATION_FAILURE =
  /message authentication failed|cipher: message authentication|invalid ciphertext|unable to decrypt/i;
// A login is renewed this long before its lease ends.
const RENEW_BEFORE_MS = 60_000;

interface VaultReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Data keys wrapped by a Vault (or OpenBao) Transit key: `encrypt` with the object's context
 * as associated data, `decrypt` with the same. The key version Vault used (`vault:vN:`) is
 * recorded per object and the wrapped bytes are Transit's ciphertext without that prefix. The
 * data key crosses the network only to Vault, over TLS in production; nothing is cached here
 * (the proxy keeps unwrapped keys for a bounded time, see its dekCache options).
 */
export class VaultTransitSource implements KeySource, ProbedKeySource {
  readonly scheme = 'vault-transit' as const;
  readonly id: string;
  private readonly base: URL;
  private readonly mount: string;
  private readonly key: string;
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  private token: string | undefined;
  private tokenRenewAt = Number.POSITIVE_INFINITY;
  private login: Promise<string> | undefined;
  /** The key's newest version, as Vault last reported it (encrypt answers and key reads). */
  private latestVersion = 0;
  /** Learnt from a key read or from Vault asking for a context; AAD until then. */
  private contextField: ContextField = 'associated_data';

  private constructor(private readonly options: VaultTransitOptions) {
    this.id = options.id;
    this.base = new URL(options.address);
    this.mount = (options.mount ?? 'transit').replace(/^\/+|\/+$/g, '');
    this.key = options.key;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.dispatcher = new Agent({
      connect: options.caPem === undefined ? {} : { ca: options.caPem },
      connectTimeout: this.timeoutMs,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    if (options.auth?.method === 'token') this.token = options.auth.token;
  }

  /** Builds the client; no network call (check() probes). */
  static create(options: VaultTransitOptions): Promise<VaultTransitSource> {
    return Promise.resolve(new VaultTransitSource(options));
  }

  private get name(): string {
    return `Vault Transit key ${this.mount}/${this.key} at ${this.base.origin}`;
  }

  async wrap(dek: Buffer, context: WrapContext): Promise<WrappedDataKey> {
    const reply = await this.callWithContext('encrypt', { plaintext: dek.toString('base64') }, context);
    if (reply.status !== 200) throw this.failure(reply, 'encrypt');
    return this.wrappedOf(reply);
  }

  async unwrap(key: WrappedDataKey, context: WrapContext): Promise<Buffer> {
    const reply = await this.callWithContext('decrypt', { ciphertext: ciphertextOf(key) }, context);
    if (reply.status === 400 && AUTHENTICATION_FAILURE.test(errorsOf(reply))) throw unwrapFailed(this.name);
    if (reply.status !== 200) throw this.failure(reply, 'decrypt');
    const plaintext = dataOf(reply)['plaintext'];
    const dek = typeof plaintext === 'string' ? Buffer.from(plaintext, 'base64') : Buffer.alloc(0);
    if (dek.length !== 32) throw unwrapFailed(this.name);
    return dek;
  }

  /** To the newest key version: in Vault alone for a derived key, else decrypt then encrypt. */
  async rewrap(key: WrappedDataKey, context: WrapContext): Promise<WrappedDataKey> {
    if (this.contextField === 'associated_data') return this.wrap(await this.unwrap(key, context), context);
    const reply = await this.callWithContext('rewrap', { ciphertext: ciphertextOf(key) }, context);
    if (reply.status === 400 && AUTHENTICATION_FAILURE.test(errorsOf(reply))) throw unwrapFailed(this.name);
    if (reply.status !== 200) throw this.failure(reply, 'rewrap');
    return this.wrappedOf(reply);
  }

  private wrappedOf(reply: VaultReply): WrappedDataKey {
    const parsed = this.parseCiphertext(dataOf(reply)['ciphertext']);
    this.notice(parsed.version);
    return parsed;
  }

  /** A Transit call with the object's context; switches to `context` when Vault says the key is derived. */
  private async callWithContext(
    operation: 'encrypt' | 'decrypt' | 'rewrap',
    body: Record<string, string>,
    context: WrapContext,
  ): Promise<VaultReply> {
    const bound = associatedDataOf(context).toString('base64');
    const path = `${this.mount}/${operation}/${this.key}`;
    let reply = await this.call('POST', path, { ...body, [this.contextField]: bound });
    if (
      reply.status === 400 &&
      this.contextField === 'associated_data' &&
      /derived|context/i.test(errorsOf(reply))
    ) {
      this.contextField = 'context';
      reply = await this.call('POST', path, { ...body, context: bound });
    }
    return reply;
  }

  isActiveVersion(version: string): boolean {
    return this.latestVersion > 0 && version === `v${this.latestVersion}`;
  }

  /**
   * Reachable and unsealed, then (with credentials) the key readable and of a type that
   * encrypts. Updates the newest key version, so a rewrap knows what is current.
   */
  async check(): Promise<KeyManagerHealth> {
    let health: VaultReply;
    try {
      health = await this.raw('GET', 'sys/health?standbyok=true&perfstandbyok=true', undefined, undefined);
    } catch (err: unknown) {
      return {
        ok: false,
        reason: 'VaultUnreachable',
        message: `${this.base.origin}: ${describeFailure(err)}`,
      };
    }
    if (health.status === 503 && health.body['sealed'] === true)
      return { ok: false, reason: 'VaultSealed', message: `Vault at ${this.base.origin} is sealed` };
    if (health.status >= 500)
      return {
        ok: false,
        reason: 'VaultUnreachable',
        message: `Vault at ${this.base.origin} answered ${health.status} to sys/health`,
      };
    if (this.options.auth === undefined)
      return {
        ok: true,
        reason: 'VaultReachable',
        message: `Vault at ${this.base.origin} is reachable and unsealed; each proxy checks the key with its own login`,
      };
    let reply: VaultReply;
    try {
      reply = await this.call('GET', `${this.mount}/keys/${this.key}`, undefined);
    } catch (err: unknown) {
      if (err instanceof CoreError && err.code === 'S3SEAL_KEY_PROVIDER_DENIED')
        return { ok: false, reason: 'VaultAccessDenied', message: err.message };
      return { ok: false, reason: 'VaultUnreachable', message: describeFailure(err) };
    }
    if (reply.status === 404)
      return {
        ok: false,
        reason: 'TransitKeyNotFound',
        message: `no Transit key ${this.key} at mount ${this.mount}: create it (vault write -f ${this.mount}/keys/${this.key})`,
      };
    if (reply.status === 403) {
      // A policy may grant encrypt/decrypt without read on the key: then try what a PUT does.
      return this.checkByEncrypting();
    }
    if (reply.status !== 200)
      return { ok: false, reason: 'VaultUnreachable', message: this.failure(reply, 'read key').message };
    const data = dataOf(reply);
    if (data['supports_encryption'] === false || data['supports_decryption'] === false)
      return {
        ok: false,
        reason: 'TransitKeyUnusable',
        message: `Transit key ${this.key} is of type ${String(data['type'])}, which does not encrypt: use aes256-gcm96`,
      };
    const latest = data['latest_version'];
    if (typeof latest === 'number') this.latestVersion = latest;
    this.contextField = data['derived'] === true ? 'context' : 'associated_data';
    return {
      ok: true,
      reason: 'TransitKeyUsable',
      message: `Transit key ${this.mount}/${this.key} v${this.latestVersion} at ${this.base.origin}`,
    };
  }

  private async checkByEncrypting(): Promise<KeyManagerHealth> {
    try {
      await this.wrap(Buffer.alloc(32), { bucket: 's3seal-health-check', bindingDigest: Buffer.alloc(32) });
      return {
        ok: true,
        reason: 'TransitKeyUsable',
        message: `Transit key ${this.mount}/${this.key} encrypts (v${this.latestVersion})`,
      };
    } catch (err: unknown) {
      const isDenied = err instanceof CoreError && err.code === 'S3SEAL_KEY_PROVIDER_DENIED';
      return {
        ok: false,
        reason: isDenied ? 'VaultAccessDenied' : 'VaultUnreachable',
        message: (err as Error).message,
      };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private notice(version: string): void {
    const n = Number(version.slice(1));
    if (n > this.latestVersion) this.latestVersion = n;
  }

  private parseCiphertext(value: unknown): WrappedDataKey {
    const match = typeof value === 'string' ? VERSIONED_CIPHERTEXT.exec(value) : null;
    if (!match) throw unavailable(this.name, 'Vault answered encrypt without a vault:v<N>: ciphertext');
    return { version: match[1]!, wrapped: Buffer.from(match[2]!, 'base64') };
  }

  private failure(reply: VaultReply, operation: string): CoreError {
    const detail = `${operation} answered ${reply.status}${errorsOf(reply) ? `: ${errorsOf(reply)}` : ''}`;
    if (reply.status === 403 || reply.status === 401)
      return denied(
        this.name,
        `${detail} (the token's policy needs update on ${this.mount}/encrypt/${this.key} and ${this.mount}/decrypt/${this.key})`,
      );
    if (reply.status === 400 || reply.status === 404) return denied(this.name, detail);
    return unavailable(this.name, detail);
  }

  /** One authenticated call; a refused token is refreshed once (a rotated file, an expired login). */
  private async call(method: 'GET' | 'POST', path: string, body: unknown): Promise<VaultReply> {
    const token = await this.currentToken();
    let reply = await this.raw(method, path, body, token);
    if (reply.status === 403 && this.options.auth !== undefined && this.options.auth.method !== 'token') {
      this.token = undefined;
      reply = await this.raw(method, path, body, await this.currentToken());
    }
    return reply;
  }

  private async currentToken(): Promise<string | undefined> {
    const auth = this.options.auth;
    if (auth === undefined) return undefined;
    if (this.token !== undefined && Date.now() < this.tokenRenewAt) return this.token;
    if (auth.method === 'token') return auth.token;
    this.login ??= (auth.method === 'token-file' ? this.readTokenFile(auth.file) : this.logIn(auth)).finally(
      () => (this.login = undefined),
    );
    return this.login;
  }

  private async readTokenFile(file: string): Promise<string> {
    let token: string;
    try {
      token = (await readFile(file, 'utf8')).trim();
    } catch (err: unknown) {
      throw denied(this.name, `the token file ${file} cannot be read (${describeFailure(err)})`);
    }
    this.token = token;
    this.tokenRenewAt = Number.POSITIVE_INFINITY;
    return token;
  }

  private async logIn(auth: Extract<VaultAuth, { method: 'kubernetes' }>): Promise<string> {
    let jwt: string;
    try {
      jwt = (await readFile(auth.jwtFile, 'utf8')).trim();
    } catch (err: unknown) {
      throw denied(
        this.name,
        `the service-account token ${auth.jwtFile} cannot be read (${describeFailure(err)})`,
      );
    }
    const mount = auth.mount.replace(/^\/+|\/+$/g, '');
    const reply = await this.raw('POST', `auth/${mount}/login`, { role: auth.role, jwt }, undefined);
    const login = reply.body['auth'] as Record<string, unknown> | undefined;
    const token = login?.['client_token'];
    if (reply.status !== 200 || typeof token !== 'string') {
      const detail = `Kubernetes login as role ${auth.role} at auth/${mount} answered ${reply.status}${errorsOf(reply) ? `: ${errorsOf(reply)}` : ''}`;
      throw reply.status >= 500 ? unavailable(this.name, detail) : denied(this.name, detail);
    }
    const leaseSeconds = typeof login?.['lease_duration'] === 'number' ? login['lease_duration'] : 0;
    this.token = token;
    this.tokenRenewAt =
      leaseSeconds > 0
        ? Date.now() + Math.max(leaseSeconds * 1000 - RENEW_BEFORE_MS, (leaseSeconds * 1000) / 2)
        : Number.POSITIVE_INFINITY;
    return token;
  }

  /** One HTTP exchange with Vault; network failures are S3SEAL_KEY_PROVIDER_UNAVAILABLE. */
  private async raw(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    token: string | undefined,
  ): Promise<VaultReply> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers['x-vault-token'] = token;
    if (this.options.namespace) headers['x-vault-namespace'] = this.options.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = new URL(`/v1/${path}`, this.base);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err: unknown) {
      throw unavailable(this.name, describeFailure(err), err);
    }
    let parsed: unknown;
    try {
      const text = await response.body.text();
      parsed = text === '' ? {} : JSON.parse(text);
    } catch (err: unknown) {
      throw unavailable(this.name, `unreadable answer (${describeFailure(err)})`, err);
    }
    return {
      status: response.statusCode,
      body: parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {},
    };
  }
}

function dataOf(reply: VaultReply): Record<string, unknown> {
  const data = reply.body['data'];
  return data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
}

function errorsOf(reply: VaultReply): string {
  const errors = reply.body['errors'];
  return Array.isArray(errors) ? errors.map(String).join('; ') : '';
}

function ciphertextOf(key: WrappedDataKey): string {
  return `vault:${key.version}:${key.wrapped.toString('base64')}`;
}
