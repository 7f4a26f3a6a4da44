/**
 * Every proxy option, once: its key in a config file, its environment variable, its flag,
 * type, default and why you would change it. config.ts reads the three sources from this
 * table and packages/proxy/README.md documents it (a test keeps the two in step).
 */
export type OptionType = 'string' | 'integer' | 'boolean' | 'list';

export interface OptionSpec {
  readonly key: string;
  readonly env: string;
  readonly type: OptionType;
  readonly default?: string | number | boolean | readonly string[];
  readonly choices?: readonly string[];
  readonly secret?: boolean;
  readonly describe: string;
}

export const OPTIONS = [
  {
    key: 'listen',
    env: 'S3SEAL_LISTEN',
    type: 'string',
    default: '127.0.0.1:8080',
    describe: 'address:port the proxy serves S3 on; loopback by default so only the pod (or host) reaches it',
  },
  {
    key: 'metricsListen',
    env: 'S3SEAL_METRICS_LISTEN',
    type: 'string',
    describe:
      'address:port of the operations listener (/healthz, /readyz); off when unset. Kubernetes probes need a pod-reachable address such as 0.0.0.0:9090',
  },
  {
    key: 'upstream',
    env: 'S3SEAL_UPSTREAM',
    type: 'string',
    describe: 'URL of the S3 backend, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000',
  },
  {
    key: 'region',
    env: 'S3SEAL_REGION',
    type: 'string',
    default: 'us-east-1',
    describe: 'region the upstream requests are signed for',
  },
  {
    key: 'upstreamPathStyle',
    env: 'S3SEAL_UPSTREAM_PATH_STYLE',
    type: 'boolean',
    default: true,
    describe: 'address the upstream as host/bucket/key (true) or bucket.host/key (false)',
  },
  {
    key: 'accessKeyId',
    env: 'AWS_ACCESS_KEY_ID',
    type: 'string',
    describe: 'upstream access key id (the standard AWS variable)',
  },
  {
    key: 'secretAccessKey',
    env: 'AWS_SECRET_ACCESS_KEY',
    type: 'string',
    secret: true,
    describe: 'upstream secret access key (the standard AWS variable)',
  },
  {
    key: 'sessionToken',
    env: 'AWS_SESSION_TOKEN',
    type: 'string',
    secret: true,
    describe: 'upstream session token, for temporary credentials',
  },
  {
    key: 'upstreamCredentialsFile',
    env: 'S3SEAL_UPSTREAM_CREDENTIALS_FILE',
    type: 'string',
    describe:
      'JSON or YAML file with accessKeyId, secretAccessKey (and sessionToken), instead of the variables; re-read on change',
  },
  {
    key: 'clientCredentialsFile',
    env: 'S3SEAL_CLIENT_CREDENTIALS_FILE',
    type: 'string',
    describe:
      'JSON or YAML list of {accessKeyId, secretAccessKey} that clients may sign with; default: the upstream pair, so an app changes only its endpoint',
  },
  {
    key: 'kekDir',
    env: 'S3SEAL_KEK_DIR',
    type: 'string',
    describe:
      'keyring directory (files v1, v2, … and active), e.g. a mounted Secret; without it the keyring comes from S3SEAL_KEK_V<n> and S3SEAL_KEK_ACTIVE',
  },
  {
    key: 'keyringId',
    env: 'S3SEAL_KEYRING_ID',
    type: 'string',
    default: 'default',
    describe: 'name recorded in each object; a proxy refuses objects of another keyring',
  },
  {
    key: 'keySource',
    env: 'S3SEAL_KEY_SOURCE',
    type: 'string',
    default: 'keyring',
    choices: ['keyring', 'vault-transit', 'aws-kms'],
    describe:
      'which key source wraps the data keys of new objects; every other configured source (a keyring, Vault, KMS) still opens the objects it wrapped, so a policy can move between them',
  },
  {
    key: 'vaultAddress',
    env: 'S3SEAL_VAULT_ADDRESS',
    type: 'string',
    describe: 'Vault or OpenBao URL (https://vault.example:8200); configures the Transit key source',
  },
  {
    key: 'vaultSourceId',
    env: 'S3SEAL_VAULT_SOURCE_ID',
    type: 'string',
    default: 'vault',
    describe: 'name each object records for the Transit key source; keep it stable',
  },
  {
    key: 'vaultMount',
    env: 'S3SEAL_VAULT_MOUNT',
    type: 'string',
    default: 'transit',
    describe: 'mount path of the Transit secrets engine',
  },
  {
    key: 'vaultKey',
    env: 'S3SEAL_VAULT_KEY',
    type: 'string',
    describe: 'Transit key name (an AEAD type: aes256-gcm96, the default, or chacha20-poly1305)',
  },
  {
    key: 'vaultNamespace',
    env: 'S3SEAL_VAULT_NAMESPACE',
    type: 'string',
    describe: 'Vault Enterprise / OpenBao namespace (sent as X-Vault-Namespace)',
  },
  {
    key: 'vaultToken',
    env: 'S3SEAL_VAULT_TOKEN',
    type: 'string',
    secret: true,
    describe: 'Vault token (token auth)',
  },
  {
    key: 'vaultTokenFile',
    env: 'S3SEAL_VAULT_TOKEN_FILE',
    type: 'string',
    describe:
      'file holding the Vault token (a mounted Secret, a Vault Agent sink); re-read when Vault refuses it',
  },
  {
    key: 'vaultAuthRole',
    env: 'S3SEAL_VAULT_AUTH_ROLE',
    type: 'string',
    describe: 'Kubernetes auth: the Vault role to log in as with the pod service-account token',
  },
  {
    key: 'vaultAuthMount',
    env: 'S3SEAL_VAULT_AUTH_MOUNT',
    type: 'string',
    default: 'kubernetes',
    describe: 'Kubernetes auth: mount path of the auth method',
  },
  {
    key: 'vaultServiceAccountTokenFile',
    env: 'S3SEAL_VAULT_SA_TOKEN_FILE',
    type: 'string',
    default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    describe: 'Kubernetes auth: the service-account token (JWT) sent to Vault',
  },
  {
    key: 'vaultCaFile',
    env: 'S3SEAL_VAULT_CA_FILE',
    type: 'string',
    describe: "extra CAs (PEM) trusted for Vault's TLS certificate",
  },
  {
    key: 'kmsKeyId',
    env: 'S3SEAL_KMS_KEY_ID',
    type: 'string',
    describe: 'AWS KMS key id, ARN, alias/<name> or alias ARN; configures the KMS key source',
  },
  {
    key: 'kmsSourceId',
    env: 'S3SEAL_KMS_SOURCE_ID',
    type: 'string',
    default: 'kms',
    describe: 'name each object records for the KMS key source; keep it stable',
  },
  {
    key: 'kmsRegion',
    env: 'S3SEAL_KMS_REGION',
    type: 'string',
    describe: "KMS region; default: the key ARN's region, else AWS_REGION, else region",
  },
  {
    key: 'kmsEndpoint',
    env: 'S3SEAL_KMS_ENDPOINT',
    type: 'string',
    describe: 'KMS endpoint URL (a VPC endpoint, or a KMS-compatible server in tests)',
  },
  {
    key: 'kmsPreviousKeyArns',
    env: 'S3SEAL_KMS_PREVIOUS_KEY_ARNS',
    type: 'list',
    default: [],
    describe:
      'ARNs of KMS keys that wrapped older objects (after pointing an alias at a new key); only these and the current key are trusted to unwrap',
  },
  {
    key: 'kmsAccessKeyId',
    env: 'S3SEAL_KMS_ACCESS_KEY_ID',
    type: 'string',
    describe: "access key for KMS; default: the AWS SDK's standard credential chain",
  },
  {
    key: 'kmsSecretAccessKey',
    env: 'S3SEAL_KMS_SECRET_ACCESS_KEY',
    type: 'string',
    secret: true,
    describe: 'secret key for KMS, with kmsAccessKeyId',
  },
  {
    key: 'kmsSessionToken',
    env: 'S3SEAL_KMS_SESSION_TOKEN',
    type: 'string',
    secret: true,
    describe: 'session token for KMS, with kmsAccessKeyId',
  },
  {
    key: 'dekCacheSeconds',
    env: 'S3SEAL_DEK_CACHE_SECONDS',
    type: 'integer',
    default: 300,
    describe:
      'how long an unwrapped data key is kept in memory so a hot object costs no key-manager call per read; 0 turns the cache off. It bounds how long objects stay readable while a key manager is down',
  },
  {
    key: 'dekCacheEntries',
    env: 'S3SEAL_DEK_CACHE_ENTRIES',
    type: 'integer',
    default: 1024,
    describe: 'most unwrapped data keys kept (least recently used out first); 0 turns the cache off',
  },
  {
    key: 'chunkSize',
    env: 'S3SEAL_CHUNK_SIZE',
    type: 'integer',
    default: 65536,
    describe:
      'plaintext bytes per encrypted chunk; larger lowers overhead, smaller makes ranged reads cheaper',
  },
  {
    key: 'algorithm',
    env: 'S3SEAL_ALGORITHM',
    type: 'string',
    default: 'AES256GCM',
    choices: ['AES256GCM', 'CHACHA20POLY1305'],
    describe: 'AEAD for new objects; ChaCha20-Poly1305 for CPUs without AES instructions',
  },
  {
    key: 'bindObjectKey',
    env: 'S3SEAL_BIND_OBJECT_KEY',
    type: 'boolean',
    default: true,
    describe:
      'bind each data key to its object key so objects cannot be swapped in the bucket (see docs/FORMAT.md)',
  },
  {
    key: 'buckets',
    env: 'S3SEAL_BUCKETS',
    type: 'list',
    default: ['*'],
    describe: 'buckets to encrypt: names or globs (* and ?), comma-separated',
  },
  {
    key: 'otherBuckets',
    env: 'S3SEAL_OTHER_BUCKETS',
    type: 'string',
    default: 'reject',
    choices: ['reject', 'passthrough'],
    describe:
      'what a request for a bucket outside `buckets` gets: refused (AccessDenied) or forwarded unencrypted',
  },
  {
    key: 'legacy',
    env: 'S3SEAL_LEGACY',
    type: 'string',
    default: 'reject',
    choices: ['reject', 'passthrough'],
    describe:
      'what a GET of an object without s3seal metadata gets: refused, or served as stored (for migrating existing buckets)',
  },
  {
    key: 'maxPutBytes',
    env: 'S3SEAL_MAX_PUT_BYTES',
    type: 'integer',
    default: 5 * 1024 ** 3,
    describe: 'largest single PUT body (S3 allows 5 GiB); larger gets EntityTooLarge',
  },
  {
    key: 'maxInflight',
    env: 'S3SEAL_MAX_INFLIGHT',
    type: 'integer',
    default: 256,
    describe:
      'requests served at once; one more is answered 503 SlowDown at once, before its body is read (clients back off and retry)',
  },
  {
    key: 'maxHeaderBytes',
    env: 'S3SEAL_MAX_HEADER_BYTES',
    type: 'integer',
    default: 16384,
    describe:
      "largest request head (request line and headers); a larger one gets 431 from Node's HTTP parser and the connection is closed",
  },
  {
    key: 'idleTimeoutSeconds',
    env: 'S3SEAL_IDLE_TIMEOUT_SECONDS',
    type: 'integer',
    default: 60,
    describe:
      'a client that sends no byte of its headers or body (or reads none of a response) for this long is cut off: 400 RequestTimeout, connection closed; protects against slow clients holding connections',
  },
  {
    key: 'requestTimeoutSeconds',
    env: 'S3SEAL_REQUEST_TIMEOUT_SECONDS',
    type: 'integer',
    default: 0,
    describe:
      'longest a request may take in total (400 RequestTimeout, or a cut connection once the response started); 0 = no limit, since large objects take long',
  },
  {
    key: 'shutdownGraceSeconds',
    env: 'S3SEAL_SHUTDOWN_GRACE_SECONDS',
    type: 'integer',
    default: 25,
    describe:
      "on SIGTERM: stop accepting, answer /readyz 503, let in-flight requests finish for this long, then close the rest; keep it under the pod's terminationGracePeriodSeconds (30)",
  },
  {
    key: 'tlsCertFile',
    env: 'S3SEAL_TLS_CERT_FILE',
    type: 'string',
    describe:
      'PEM certificate (chain) for the S3 listener, with tlsKeyFile: the proxy then serves HTTPS; both files are re-read when they change (a renewed Secret), without a restart',
  },
  {
    key: 'tlsKeyFile',
    env: 'S3SEAL_TLS_KEY_FILE',
    type: 'string',
    describe: 'PEM private key of tlsCertFile (both or neither)',
  },
  {
    key: 'upstreamCaFile',
    env: 'S3SEAL_UPSTREAM_CA_FILE',
    type: 'string',
    describe:
      'PEM bundle of CAs trusted for an https upstream in addition to the system CAs, e.g. a private CA in front of MinIO; read at start',
  },
  {
    key: 'insecureUpstream',
    env: 'S3SEAL_INSECURE_UPSTREAM',
    type: 'boolean',
    default: false,
    describe:
      'allow plain http to a non-loopback upstream (logs a warning at start); ciphertext still, but credentials and metadata travel in clear',
  },
  {
    key: 'virtualHostDomains',
    env: 'S3SEAL_VIRTUAL_HOST_DOMAINS',
    type: 'list',
    default: ['localhost'],
    describe: 'domains under which bucket.<domain> requests are virtual-hosted style',
  },
  {
    key: 'multipart',
    env: 'S3SEAL_MULTIPART',
    type: 'string',
    choices: ['encrypt', 'refuse'],
    describe:
      'multipart uploads: encrypted, with in-flight state in Valkey (the default when S3SEAL_VALKEY_URL is set), or refused with NotImplemented (the default without it)',
  },
  {
    key: 'valkeyUrl',
    env: 'S3SEAL_VALKEY_URL',
    type: 'string',
    secret: true,
    describe:
      'Valkey (or Redis) holding in-flight multipart uploads: redis://[user:password@]host:port[/db], or rediss:// for TLS; with sentinels or a cluster, the scheme, credentials and db still come from here',
  },
  {
    key: 'valkeyPassword',
    env: 'S3SEAL_VALKEY_PASSWORD',
    type: 'string',
    secret: true,
    describe:
      'Valkey password, instead of one in the URL (e.g. from a Kubernetes Secret); wins over the URL password',
  },
  {
    key: 'valkeySentinels',
    env: 'S3SEAL_VALKEY_SENTINELS',
    type: 'list',
    describe: 'host:port of Valkey sentinels, comma-separated; the URL host is then not used',
  },
  {
    key: 'valkeySentinelName',
    env: 'S3SEAL_VALKEY_SENTINEL_NAME',
    type: 'string',
    describe: 'the primary group the sentinels watch (required with S3SEAL_VALKEY_SENTINELS)',
  },
  {
    key: 'valkeyCluster',
    env: 'S3SEAL_VALKEY_CLUSTER',
    type: 'boolean',
    default: false,
    describe: "the URL's host is a seed node of a Valkey Cluster (one upload's state stays on one slot)",
  },
  {
    key: 'valkeyTlsCaFile',
    env: 'S3SEAL_VALKEY_TLS_CA_FILE',
    type: 'string',
    describe:
      'PEM file of the CA that signed the Valkey server certificate (rediss://), when not a public CA',
  },
  {
    key: 'valkeyRequired',
    env: 'S3SEAL_VALKEY_REQUIRED',
    type: 'boolean',
    default: true,
    describe:
      'refuse to start when multipart is on and Valkey does not answer; false starts anyway and answers multipart calls with 503 until it does',
  },
  {
    key: 'multipartTtlSeconds',
    env: 'S3SEAL_MULTIPART_TTL_SECONDS',
    type: 'integer',
    default: 7 * 24 * 3600,
    describe:
      "how long an upload's state lives after its last part; keep it at least as long as the bucket's AbortIncompleteMultipartUpload rule",
  },
  {
    key: 'logLevel',
    env: 'S3SEAL_LOG_LEVEL',
    type: 'string',
    default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    describe: 'log level',
  },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTIONS)[number]['key'];
