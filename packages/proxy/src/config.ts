import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import yargs from 'yargs';
import { OPTIONS } from './config-options.js';
import type { OptionKey, OptionSpec } from './config-options.js';

/** A secret string that never prints: logs and errors show `[redacted]`. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

export interface ProxyConfig {
  readonly listenHost: string;
  readonly listenPort: number;
  /** The operations listener (/healthz, /readyz); undefined when off. */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
  readonly upstream: URL;
  readonly region: string;
  readonly upstreamPathStyle: boolean;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: Secret | undefined;
  readonly sessionToken: Secret | undefined;
  readonly upstreamCredentialsFile: string | undefined;
  readonly clientCredentialsFile: string | undefined;
  readonly kekDir: string | undefined;
  readonly keyringId: string;
  /** Whether a keyring is configured (a directory or S3SEAL_KEK_* variables). */
  readonly hasKeyring: boolean;
  /** Which key source wraps new data keys; the other configured ones only open old objects. */
  readonly keySource: KeySourceKind;
  /** The Vault/OpenBao Transit key source, when configured. */
  readonly vault: VaultSourceConfig | undefined;
  /** The AWS KMS key source, when configured. */
  readonly kms: KmsSourceConfig | undefined;
  /** Unwrapped data keys kept in memory: how long and how many (either 0: off). */
  readonly dekCache: { readonly ttlSeconds: number; readonly maxEntries: number };
  readonly chunkSize: number;
  readonly algorithm: 'AES256GCM' | 'CHACHA20POLY1305';
  readonly bindObjectKey: boolean;
  readonly buckets: readonly string[];
  readonly otherBuckets: 'reject' | 'passthrough';
  readonly legacy: 'reject' | 'passthrough';
  readonly maxPutBytes: number;
  /** Requests served at once; more get 503 SlowDown. */
  readonly maxInflight: number;
  /** Node's maxHeaderSize for the S3 listener. */
  readonly maxHeaderBytes: number;
  /** A client silent for this long (headers, body, or reading a response) is cut off. */
  readonly idleTimeoutSeconds: number;
  /** Longest a request may take in total; 0 = no limit. */
  readonly requestTimeoutSeconds: number;
  /** How long in-flight requests may finish after SIGTERM. */
  readonly shutdownGraceSeconds: number;
  /** The S3 listener serves HTTPS with this pair (re-read on change); undefined = plain HTTP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Extra CAs (PEM) trusted for an https upstream, besides the system ones. */
  readonly upstreamCaFile: string | undefined;
  readonly insecureUpstream: boolean;
  readonly virtualHostDomains: readonly string[];
  readonly logLevel: string;
  /** Encrypted multipart uploads and their Valkey; undefined when multipart is refused. */
  readonly multipart: MultipartConfig | undefined;
  /** The keyring variables (S3SEAL_KEK_*) when no directory is set; read here so nothing else reads env. */
  readonly keyringEnv: Readonly<Record<string, string>>;
}

export type KeySourceKind = 'keyring' | 'vault-transit' | 'aws-kms';

export type VaultAuthConfig =
  | { readonly method: 'token'; readonly token: Secret }
  | { readonly method: 'token-file'; readonly file: string }
  | {
      readonly method: 'kubernetes';
      readonly role: string;
      readonly mount: string;
      readonly serviceAccountTokenFile: string;
    };

export interface VaultSourceConfig {
  readonly id: string;
  readonly address: URL;
  readonly mount: string;
  readonly key: string;
  readonly namespace: string | undefined;
  readonly auth: VaultAuthConfig;
  readonly caFile: string | undefined;
}

export interface KmsSourceConfig {
  readonly id: string;
  readonly keyId: string;
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly previousKeyArns: readonly string[];
  /** Explicit credentials; undefined: the AWS SDK's standard chain. */
  readonly credentials:
    | {
        readonly accessKeyId: string;
        readonly secretAccessKey: Secret;
        readonly sessionToken: Secret | undefined;
      }
    | undefined;
}

export interface ValkeyConfig {
  /** redis:// or rediss:// with credentials and db; with sentinels or a cluster, its host is a seed or unused. */
  readonly url: Secret;
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  readonly sentinelName: string | undefined;
  readonly isCluster: boolean;
  readonly tlsCaFile: string | undefined;
  /** Overrides the URL's password when set. */
  readonly password: Secret | undefined;
}

export interface MultipartConfig {
  readonly valkey: ValkeyConfig;
  readonly ttlSeconds: number;
  /** Refuse to start while Valkey does not answer (else start and answer multipart calls 503). */
  readonly isValkeyRequired: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'S3SEAL_CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type Raw = Partial<Record<OptionKey, unknown>>;

const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The yargs parser for `s3seal-proxy`: one flag per option, documented from the table. */
export function buildCli(argv: readonly string[]): ReturnType<typeof yargs> {
  let cli = yargs([...argv])
    .scriptName('s3seal-proxy')
    .usage(
      '$0 [options]\n\nAn S3 proxy that encrypts object bodies on the way in and decrypts them on the way out.\nEvery option is also an environment variable and a config-file key; flags win over the environment, the environment over the file.',
    )
    .option('config', { type: 'string', describe: 'JSON or YAML config file (env: S3SEAL_CONFIG)' })
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(120, yargs().terminalWidth()));
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    cli = cli.option(flagName(spec.key), {
      type: spec.type === 'integer' ? 'number' : spec.type === 'list' ? 'string' : spec.type,
      // Choices are checked with the other sources' values in loadConfig, so that a bad flag is
      // reported with every other problem (yargs would print usage and exit 1 on its own).
      describe: `${spec.describe} (env: ${spec.env}${spec.choices ? `; one of: ${spec.choices.join(', ')}` : ''}${spec.default === undefined ? '' : `; default: ${String(spec.default)}`})`,
    });
  }
  return cli;
}

/**
 * Reads the options from a config file, the environment and flags (in rising precedence),
 * validates all of them and reports every problem at once. Nothing else reads process.env.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  /** `keys`: only the key sources matter (the CLI's rewrap reads a proxy's configuration for them). */
  purpose: 'proxy' | 'keys' = 'proxy',
): ProxyConfig {
  const problems: string[] = [];
  // A flag yargs refuses (unknown, under strict) is one more problem, not an exit of its own.
  const flags = buildCli(argv)
    .fail((message: string | undefined, err: Error | undefined) => {
      problems.push((message ?? err?.message ?? 'invalid arguments').replace(/\s*\n\s*/g, ' '));
    })
    .parseSync() as Record<string, unknown>;
  const configPath = (flags['config'] as string | undefined) ?? env['S3SEAL_CONFIG'];
  const file = configPath === undefined ? {} : readConfigFile(configPath, problems);

  const raw: Raw = {};
  for (const spec of OPTIONS as readonly OptionSpec[]) {
    const fromFlag = flags[flagName(spec.key)];
    const fromEnv = env[spec.env];
    const fromFile = file[spec.key];
    const value =
      fromFlag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv) ?? fromFile ?? spec.default;
    raw[spec.key as OptionKey] = value === undefined ? undefined : coerce(spec, value, problems);
  }
  const known = new Set<string>(OPTIONS.map((o) => o.key));
  for (const key of Object.keys(file))
    if (!known.has(key)) problems.push(`${configPath}: unknown key "${key}"`);

  const { host: listenHost, port: listenPort } = parseListen('listen', String(raw.listen), problems);
  const metricsListenText = raw.metricsListen as string | undefined;
  const metricsListen =
    metricsListenText === undefined ? undefined : parseListen('metricsListen', metricsListenText, problems);
  if (metricsListen && metricsListen.port !== 0 && metricsListen.port === listenPort)
    problems.push('metricsListen must use another port than listen');

  let upstream = new URL('http://invalid.invalid');
  // Whether `upstream` is the configured one: a missing or malformed upstream is one problem,
  // not also a "plain http to a non-loopback host" one about the placeholder.
  let isUpstreamParsed = false;
  const upstreamText = raw.upstream as string | undefined;
  if (upstreamText === undefined) {
    if (purpose === 'proxy') problems.push('upstream is required (S3SEAL_UPSTREAM or --upstream)');
  } else {
    try {
      upstream = new URL(upstreamText);
      isUpstreamParsed = true;
      if (upstream.protocol !== 'http:' && upstream.protocol !== 'https:')
        problems.push(`upstream must be http(s), not ${upstream.protocol}`);
    } catch {
      problems.push(`upstream "${upstreamText}" is not a URL`);
    }
  }
  if (
    isUpstreamParsed &&
    upstream.protocol === 'http:' &&
    !isLoopback(upstream.hostname) &&
    raw.insecureUpstream !== true
  ) {
    problems.push(
      `upstream ${upstream.origin} is plain http to a non-loopback host; use https, or set S3SEAL_INSECURE_UPSTREAM=true`,
    );
  }
  if (
    purpose === 'proxy' &&
    raw.upstreamCredentialsFile === undefined &&
    (raw.accessKeyId === undefined || raw.secretAccessKey === undefined)
  ) {
    problems.push(
      'upstream credentials are required: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or S3SEAL_UPSTREAM_CREDENTIALS_FILE',
    );
  }
  const keyringEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (name.startsWith('S3SEAL_KEK_') && value !== undefined) keyringEnv[name] = value;
  const hasKeyring = raw.kekDir !== undefined || keyringEnv['S3SEAL_KEK_ACTIVE'] !== undefined;
  const keySource = raw.keySource as KeySourceKind;
  if (keySource === 'keyring' && !hasKeyring) {
    problems.push('a keyring is required: S3SEAL_KEK_DIR, or S3SEAL_KEK_V<n> and S3SEAL_KEK_ACTIVE');
  }
  const vault = vaultConfig(raw, keySource === 'vault-transit', problems);
  const kms = kmsConfig(raw, env, keySource === 'aws-kms', problems);
  const sourceIds = [
    ...(hasKeyring ? [['keyringId', raw.keyringId as string]] : []),
    ...(vault ? [['vaultSourceId', vault.id]] : []),
    ...(kms ? [['kmsSourceId', kms.id]] : []),
  ];
  for (const [name, id] of sourceIds) {
    if (!KEY_SOURCE_ID.test(id!)) problems.push(`${name} "${id}" is not a lowercase DNS-like name`);
    const clash = sourceIds.find(([other, otherId]) => other !== name && otherId === id);
    if (clash && name! < clash[0]!)
      problems.push(`${name} and ${clash[0]} are both "${id}": key source names must differ`);
  }
  const dekCache = {
    ttlSeconds: raw.dekCacheSeconds as number,
    maxEntries: raw.dekCacheEntries as number,
  };
  const chunkSize = raw.chunkSize as number;
  if (chunkSize < 4096 || chunkSize > 16 * 1024 * 1024)
    problems.push(`chunkSize ${chunkSize} is outside 4096..16777216`);
  const maxPutBytes = raw.maxPutBytes as number;
  if (maxPutBytes < 0) problems.push('maxPutBytes must be at least 0');
  const maxInflight = raw.maxInflight as number;
  if (maxInflight < 1) problems.push('maxInflight must be at least 1');
  const maxHeaderBytes = raw.maxHeaderBytes as number;
  // Below 4 KiB a signed request with a few x-amz-meta headers no longer fits.
  if (maxHeaderBytes < 4096) problems.push('maxHeaderBytes must be at least 4096');
  const idleTimeoutSeconds = raw.idleTimeoutSeconds as number;
  if (idleTimeoutSeconds < 1) problems.push('idleTimeoutSeconds must be at least 1');
  const tlsCertFile = raw.tlsCertFile as string | undefined;
  const tlsKeyFile = raw.tlsKeyFile as string | undefined;
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined))
    problems.push('S3SEAL_TLS_CERT_FILE and S3SEAL_TLS_KEY_FILE go together: set both or neither');
  const upstreamCaFile = raw.upstreamCaFile as string | undefined;
  if (upstreamCaFile !== undefined && isUpstreamParsed && upstream.protocol !== 'https:')
    problems.push('S3SEAL_UPSTREAM_CA_FILE needs an https:// upstream');
  const multipart = multipartConfig(raw, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    listenHost,
    listenPort,
    metricsListen: metricsListen && Object.freeze(metricsListen),
    upstream,
    region: raw.region as string,
    upstreamPathStyle: raw.upstreamPathStyle as boolean,
    accessKeyId: raw.accessKeyId as string | undefined,
    secretAccessKey:
      raw.secretAccessKey === undefined ? undefined : new Secret(raw.secretAccessKey as string),
    sessionToken: raw.sessionToken === undefined ? undefined : new Secret(raw.sessionToken as string),
    upstreamCredentialsFile: raw.upstreamCredentialsFile as string | undefined,
    clientCredentialsFile: raw.clientCredentialsFile as string | undefined,
    kekDir: raw.kekDir as string | undefined,
    keyringId: raw.keyringId as string,
    hasKeyring,
    keySource,
    vault,
    kms,
    dekCache: Object.freeze(dekCache),
    chunkSize,
    algorithm: raw.algorithm as ProxyConfig['algorithm'],
    bindObjectKey: raw.bindObjectKey as boolean,
    buckets: Object.freeze([...(raw.buckets as string[])]),
    otherBuckets: raw.otherBuckets as ProxyConfig['otherBuckets'],
    legacy: raw.legacy as ProxyConfig['legacy'],
    maxPutBytes,
    maxInflight,
    maxHeaderBytes,
    idleTimeoutSeconds,
    requestTimeoutSeconds: raw.requestTimeoutSeconds as number,
    shutdownGraceSeconds: raw.shutdownGraceSeconds as number,
    tls:
      tlsCertFile === undefined || tlsKeyFile === undefined
        ? undefined
        : Object.freeze({ certFile: tlsCertFile, keyFile: tlsKeyFile }),
    upstreamCaFile,
    insecureUpstream: raw.insecureUpstream as boolean,
    virtualHostDomains: Object.freeze([...(raw.virtualHostDomains as string[])]),
    logLevel: raw.logLevel as string,
    keyringEnv: Object.freeze(keyringEnv),
    multipart,
  });
}

/** What objects record as a key source's name (core's KEYRING_ID_PATTERN). */
const KEY_SOURCE_ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** The Transit key source: configured by vaultAddress; required when it is the active source. */
function vaultConfig(raw: Raw, isActive: boolean, problems: string[]): VaultSourceConfig | undefined {
  const addressText = raw.vaultAddress as string | undefined;
  if (addressText === undefined) {
    if (isActive) problems.push('keySource vault-transit needs S3SEAL_VAULT_ADDRESS and S3SEAL_VAULT_KEY');
    return undefined;
  }
  let address: URL | undefined;
  try {
    address = new URL(addressText);
    if (address.protocol !== 'http:' && address.protocol !== 'https:') address = undefined;
  } catch {
    // reported below
  }
  if (!address) problems.push(`vaultAddress "${addressText}" is not an http(s) URL`);
  else if (address.protocol === 'http:' && !isLoopback(address.hostname) && raw.insecureUpstream !== true)
    problems.push(
      `vaultAddress ${address.origin} is plain http to a non-loopback host: data keys would cross the network in clear; use https`,
    );
  const key = raw.vaultKey as string | undefined;
  if (key === undefined) problems.push('S3SEAL_VAULT_ADDRESS needs S3SEAL_VAULT_KEY (the Transit key name)');
  const mount = (raw.vaultMount as string).replace(/^\/+|\/+$/g, '');
  const token = raw.vaultToken as string | undefined;
  const tokenFile = raw.vaultTokenFile as string | undefined;
  const role = raw.vaultAuthRole as string | undefined;
  const methods = [token, tokenFile, role].filter((m) => m !== undefined).length;
  if (methods !== 1)
    problems.push(
      'Vault needs exactly one way to authenticate: S3SEAL_VAULT_TOKEN, S3SEAL_VAULT_TOKEN_FILE or S3SEAL_VAULT_AUTH_ROLE (Kubernetes auth)',
    );
  const auth: VaultAuthConfig =
    token !== undefined
      ? { method: 'token', token: new Secret(token) }
      : tokenFile !== undefined
        ? { method: 'token-file', file: tokenFile }
        : {
            method: 'kubernetes',
            role: role ?? '',
            mount: (raw.vaultAuthMount as string).replace(/^\/+|\/+$/g, ''),
            serviceAccountTokenFile: raw.vaultServiceAccountTokenFile as string,
          };
  const caFile = raw.vaultCaFile as string | undefined;
  if (caFile !== undefined && address?.protocol !== 'https:')
    problems.push('S3SEAL_VAULT_CA_FILE needs an https:// vaultAddress');
  return Object.freeze({
    id: raw.vaultSourceId as string,
    address: address ?? new URL('http://invalid.invalid'),
    mount,
    key: key ?? '',
    namespace: raw.vaultNamespace as string | undefined,
    auth: Object.freeze(auth),
    caFile,
  });
}

/** The KMS key source: configured by kmsKeyId; required when it is the active source. */
function kmsConfig(
  raw: Raw,
  env: Readonly<Record<string, string | undefined>>,
  isActive: boolean,
  problems: string[],
): KmsSourceConfig | undefined {
  const keyId = raw.kmsKeyId as string | undefined;
  if (keyId === undefined) {
    if (isActive) problems.push('keySource aws-kms needs S3SEAL_KMS_KEY_ID');
    return undefined;
  }
  const arnRegion = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyId)?.[1];
  const region =
    (raw.kmsRegion as string | undefined) ?? arnRegion ?? env['AWS_REGION'] ?? (raw.region as string);
  const endpoint = raw.kmsEndpoint as string | undefined;
  if (endpoint !== undefined) {
    try {
      const url = new URL(endpoint);
      if (url.protocol === 'http:' && !isLoopback(url.hostname) && raw.insecureUpstream !== true)
        problems.push(`kmsEndpoint ${url.origin} is plain http to a non-loopback host; use https`);
    } catch {
      problems.push(`kmsEndpoint "${endpoint}" is not a URL`);
    }
  }
  const previousKeyArns = (raw.kmsPreviousKeyArns as string[] | undefined) ?? [];
  for (const arn of previousKeyArns) {
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/.test(arn))
      problems.push(
        `kmsPreviousKeyArns: "${arn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`,
      );
  }
  const accessKeyId = raw.kmsAccessKeyId as string | undefined;
  const secretAccessKey = raw.kmsSecretAccessKey as string | undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    problems.push(
      'S3SEAL_KMS_ACCESS_KEY_ID and S3SEAL_KMS_SECRET_ACCESS_KEY go together: set both or neither',
    );
  const sessionToken = raw.kmsSessionToken as string | undefined;
  return Object.freeze({
    id: raw.kmsSourceId as string,
    keyId,
    region,
    endpoint,
    previousKeyArns: Object.freeze([...previousKeyArns]),
    credentials:
      accessKeyId === undefined || secretAccessKey === undefined
        ? undefined
        : Object.freeze({
            accessKeyId,
            secretAccessKey: new Secret(secretAccessKey),
            sessionToken: sessionToken === undefined ? undefined : new Secret(sessionToken),
          }),
  });
}

/** The multipart options, checked together: on by default when a Valkey URL is set. */
function multipartConfig(raw: Raw, problems: string[]): MultipartConfig | undefined {
  const urlText = raw.valkeyUrl as string | undefined;
  const mode = (raw.multipart as string | undefined) ?? (urlText === undefined ? 'refuse' : 'encrypt');
  if (mode !== 'encrypt') return undefined;
  if (urlText === undefined) {
    problems.push('multipart encrypt (S3SEAL_MULTIPART) needs S3SEAL_VALKEY_URL for the upload state');
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(urlText);
  } catch {
    // The URL may carry a password: it is not echoed.
  }
  if (url?.protocol !== 'redis:' && url?.protocol !== 'rediss:')
    problems.push('valkeyUrl (S3SEAL_VALKEY_URL) must be a redis:// or rediss:// URL');
  const sentinels: { host: string; port: number }[] = [];
  for (const item of (raw.valkeySentinels as string[] | undefined) ?? []) {
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(item);
    if (!m || Number(m[2]) > 65535) problems.push(`valkey sentinel "${item}" is not host:port`);
    else sentinels.push({ host: m[1]!, port: Number(m[2]) });
  }
  const sentinelName = raw.valkeySentinelName as string | undefined;
  if (sentinels.length > 0 && sentinelName === undefined)
    problems.push('S3SEAL_VALKEY_SENTINELS needs S3SEAL_VALKEY_SENTINEL_NAME');
  if (sentinels.length === 0 && sentinelName !== undefined)
    problems.push('S3SEAL_VALKEY_SENTINEL_NAME needs S3SEAL_VALKEY_SENTINELS');
  const isCluster = raw.valkeyCluster as boolean;
  if (isCluster && sentinels.length > 0)
    problems.push('S3SEAL_VALKEY_CLUSTER and S3SEAL_VALKEY_SENTINELS exclude each other');
  const tlsCaFile = raw.valkeyTlsCaFile as string | undefined;
  if (tlsCaFile !== undefined && url?.protocol !== 'rediss:')
    problems.push('S3SEAL_VALKEY_TLS_CA_FILE needs a rediss:// S3SEAL_VALKEY_URL');
  const ttlSeconds = raw.multipartTtlSeconds as number;
  if (ttlSeconds < 60) problems.push('multipartTtlSeconds must be at least 60');
  return Object.freeze({
    valkey: Object.freeze({
      url: new Secret(urlText),
      sentinels: Object.freeze(sentinels),
      sentinelName,
      isCluster,
      tlsCaFile,
      password: raw.valkeyPassword === undefined ? undefined : new Secret(raw.valkeyPassword as string),
    }),
    ttlSeconds,
    isValkeyRequired: raw.valkeyRequired as boolean,
  });
}

/** `address:port` (IPv6 in brackets). */
function parseListen(key: string, text: string, problems: string[]): { host: string; port: number } {
  const match = /^(.*):(\d{1,5})$/.exec(text);
  const host = match?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '';
  const port = Number(match?.[2] ?? NaN);
  if (!match || port > 65535) problems.push(`${key} "${text}" is not address:port`);
  return { host, port };
}

function readConfigFile(path: string, problems: string[]): Record<string, unknown> {
  try {
    const parsed: unknown = parseYaml(readFileSync(path, 'utf8')); // YAML is a superset of JSON
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`${path}: expected a mapping of options`);
      return {};
    }
    return parsed as Record<string, unknown>;
  } catch (err: unknown) {
    problems.push(`${path}: ${(err as Error).message}`);
    return {};
  }
}

function coerce(spec: OptionSpec, value: unknown, problems: string[]): unknown {
  const name = `${spec.key} (${spec.env})`;
  switch (spec.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      problems.push(`${name} must be true or false, not ${JSON.stringify(value)}`);
      return undefined;
    case 'integer': {
      const n = typeof value === 'number' ? value : /^\d+$/.test(String(value)) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n))
        problems.push(`${name} must be a whole number, not ${JSON.stringify(value)}`);
      return n;
    }
    case 'list': {
      const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
      return items.map((s) => s.trim()).filter((s) => s !== '');
    }
    default: {
      const text = String(value);
      if (spec.choices && !spec.choices.includes(text)) {
        problems.push(`${name} must be one of ${spec.choices.join(', ')}, not ${JSON.stringify(text)}`);
      }
      return text;
    }
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\./.test(hostname);
}
