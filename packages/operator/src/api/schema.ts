/**
 * The EncryptionPolicy API, written once: the CRD in crds/ is generated from these schemas
 * (`make crds`, checked by crd.test.ts) and the TypeScript types in types.ts are derived from
 * them by json-schema-to-ts, so the two cannot drift.
 *
 * `additionalProperties: false` keeps the derived types closed; crd.ts drops it when rendering
 * the CRD (structural schemas forbid it beside `properties`; the apiserver prunes unknown
 * fields instead, and kubectl's strict field validation reports them).
 */

// Kubernetes object names (RFC 1123 subdomain) and Secret data keys.
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const SECRET_KEY = '^[-._a-zA-Z0-9]+$';
// Bucket names as S3 allows them, with the proxy's * and ? globs.
const BUCKET_GLOB = '^[a-z0-9*?][a-z0-9.*?-]{0,62}$';
// The keyring id recorded in each object (packages/core KEYRING_ID_PATTERN).
const KEYRING_ID = '^[a-z0-9][a-z0-9._-]{0,62}$';
// Go-style durations in whole hours and minutes ("2160h", "90m", "1h30m"): what users of
// cert-manager's `duration` and `renewBefore` write.
const DURATION = '^([0-9]{1,6}h)?([0-9]{1,6}m)?$';
const QUANTITY = '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$';

const secretName = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: DNS_SUBDOMAIN,
} as const;

const secretKeyRef = {
  type: 'object',
  description: 'A key of a Secret in the policy namespace.',
  required: ['name', 'key'],
  properties: {
    name: { ...secretName, description: 'Secret name.' },
    key: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: SECRET_KEY,
      description: 'Key in the Secret.',
    },
  },
  additionalProperties: false,
} as const;

/** A Secret holding an AWS-style access key pair, under the standard variable names by default. */
function keyPairSecretRef<D extends string>(description: D) {
  return {
    type: 'object',
    description,
    required: ['name'],
    properties: {
      name: { ...secretName, description: 'Secret name, in the policy namespace.' },
      accessKeyIdKey: { type: 'string', pattern: SECRET_KEY, default: 'AWS_ACCESS_KEY_ID' },
      secretAccessKeyKey: { type: 'string', pattern: SECRET_KEY, default: 'AWS_SECRET_ACCESS_KEY' },
    },
    additionalProperties: false,
  } as const;
}

const resourceList = {
  type: 'object',
  properties: {
    cpu: { type: 'string', pattern: QUANTITY },
    memory: { type: 'string', pattern: QUANTITY },
  },
  additionalProperties: false,
} as const;

export const upstreamSchema = {
  type: 'object',
  description: 'The S3 service the proxy forwards to.',
  required: ['endpoint', 'credentialsSecretRef'],
  properties: {
    endpoint: {
      type: 'string',
      maxLength: 2048,
      pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
      description: 'URL of the S3 service, e.g. https://s3.eu-west-1.amazonaws.com.',
    },
    region: {
      type: 'string',
      default: 'us-east-1',
      pattern: '^[a-z0-9-]{1,32}$',
      description: 'Region the upstream requests are signed for.',
    },
    addressingStyle: {
      type: 'string',
      enum: ['path', 'virtual'],
      default: 'path',
      description: 'Address buckets as endpoint/bucket (path) or bucket.endpoint (virtual).',
    },
    credentialsSecretRef: keyPairSecretRef(
      'Secret with the upstream access key pair. Applications sign with the same pair, so they keep their credentials.',
    ),
    allowInsecureHttp: {
      type: 'boolean',
      default: false,
      description:
        'Allow plain http to an upstream outside the pod. Objects stay encrypted, but credentials and metadata travel in clear.',
    },
  },
  additionalProperties: false,
} as const;

export const bucketsSchema = {
  type: 'object',
  description: 'Which buckets are encrypted, and what happens to the others.',
  default: {},
  properties: {
    names: {
      type: 'array',
      description: 'Bucket names or globs (* and ?).',
      minItems: 1,
      maxItems: 64,
      default: ['*'],
      items: { type: 'string', pattern: BUCKET_GLOB },
    },
    others: {
      type: 'string',
      enum: ['reject', 'passthrough'],
      default: 'reject',
      description:
        'Requests for any other bucket are refused (reject) or forwarded unencrypted (passthrough).',
    },
  },
  additionalProperties: false,
} as const;

export const encryptionSchema = {
  type: 'object',
  description: 'How new objects are sealed. Existing objects keep the settings they were written with.',
  default: {},
  properties: {
    algorithm: {
      type: 'string',
      enum: ['AES256GCM', 'CHACHA20POLY1305'],
      default: 'AES256GCM',
    },
    chunkSize: {
      type: 'integer',
      minimum: 4096,
      maximum: 16777216,
      default: 65536,
      description: 'Plaintext bytes per encrypted chunk.',
    },
    bindObjectKey: {
      type: 'boolean',
      default: true,
      description: 'Bind each data key to its object key, so objects cannot be swapped within the bucket.',
    },
  },
  additionalProperties: false,
} as const;

// Where new data keys are wrapped (status.keySource shows the effective one).
export const KEY_SOURCES = ['Managed', 'ExistingSecret', 'VaultTransit', 'AWSKMS'] as const;

const HTTP_URL = '^https?://[^\\s/?#]+(/[^\\s?#]*)?$';
// Vault mount paths and namespaces: segments separated by single slashes.
const VAULT_PATH = '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$';
const VAULT_NAME = '^[A-Za-z0-9_.@-]{1,128}$';
// A KMS key id, key ARN, alias/<name> or alias ARN (what KMS accepts as a KeyId).
const KMS_KEY_ID =
  '^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]{1,64}|alias/[A-Za-z0-9/_-]{1,250}))$';
// Only key ARNs: what older objects record and the proxy trusts to unwrap.
const KMS_KEY_ARN = '^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,64}$';

const sourceId = (fallback: string, what: string) =>
  ({
    type: 'string',
    maxLength: 63,
    pattern: KEYRING_ID,
    default: fallback,
    description: `Name every object sealed through ${what} records; keep it stable (objects name it to be opened). Must differ from the other key sources' names.`,
  }) as const;

export const vaultTransitSchema = {
  type: 'object',
  description:
    'A HashiCorp Vault or OpenBao Transit key wraps the data keys. Configured, it opens the objects it wrapped even when key.source names another source.',
  required: ['address', 'keyName', 'auth'],
  properties: {
    address: {
      type: 'string',
      maxLength: 2048,
      pattern: HTTP_URL,
      description:
        'Vault URL, e.g. https://vault.vault.svc:8200. Plain http outside the pod needs upstream.allowInsecureHttp: data keys would travel in clear.',
    },
    mount: {
      type: 'string',
      maxLength: 256,
      pattern: VAULT_PATH,
      default: 'transit',
      description: 'Mount path of the Transit secrets engine.',
    },
    keyName: {
      type: 'string',
      maxLength: 128,
      pattern: VAULT_NAME,
      description: 'Transit key name (aes256-gcm96 or chacha20-poly1305).',
    },
    namespace: {
      type: 'string',
      maxLength: 256,
      pattern: VAULT_PATH,
      description: 'Vault Enterprise / OpenBao namespace (X-Vault-Namespace).',
    },
    sourceId: sourceId('vault', 'Vault'),
    caSecretRef: {
      ...secretKeyRef,
      description: "Secret key holding PEM CA certificates trusted for Vault's TLS certificate (https only).",
    },
    auth: {
      type: 'object',
      description:
        'How the sidecar logs in to Vault: a token from a Secret, or the pod service account (Kubernetes auth). Exactly one.',
      properties: {
        tokenSecretRef: {
          ...secretKeyRef,
          description:
            'Secret key holding a Vault token, mounted into the sidecar as a file (re-read when Vault refuses it).',
        },
        kubernetes: {
          type: 'object',
          description:
            "Kubernetes auth: the sidecar logs in with a projected token of the pod's service account.",
          required: ['role'],
          properties: {
            role: { type: 'string', maxLength: 128, pattern: VAULT_NAME, description: 'Vault role.' },
            mountPath: {
              type: 'string',
              maxLength: 256,
              pattern: VAULT_PATH,
              default: 'kubernetes',
              description: 'Mount path of the Kubernetes auth method.',
            },
            audience: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description:
                'Audience of the projected service-account token (the role\'s audience); default "vault".',
            },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
      'x-kubernetes-validations': [
        {
          rule: 'has(self.tokenSecretRef) != has(self.kubernetes)',
          message: 'set exactly one of auth.tokenSecretRef and auth.kubernetes',
        },
      ],
    },
  },
  additionalProperties: false,
  'x-kubernetes-validations': [
    {
      rule: "!has(self.caSecretRef) || self.address.startsWith('https://')",
      message: 'caSecretRef needs an https:// address',
    },
  ],
} as const;

export const awsKmsSchema = {
  type: 'object',
  description:
    'An AWS KMS key wraps the data keys. Configured, it opens the objects it wrapped even when key.source names another source.',
  required: ['keyId'],
  properties: {
    keyId: {
      type: 'string',
      maxLength: 2048,
      pattern: KMS_KEY_ID,
      description: 'Key id, key ARN, alias/<name> or alias ARN.',
    },
    region: {
      type: 'string',
      pattern: '^[a-z0-9-]{1,32}$',
      description: "KMS region; default: the key ARN's region, else upstream.region.",
    },
    endpoint: {
      type: 'string',
      maxLength: 2048,
      pattern: HTTP_URL,
      description: 'KMS endpoint URL (a VPC endpoint, or a KMS-compatible server).',
    },
    sourceId: sourceId('kms', 'KMS'),
    previousKeyArns: {
      type: 'array',
      maxItems: 16,
      items: { type: 'string', maxLength: 2048, pattern: KMS_KEY_ARN },
      description:
        'ARNs of KMS keys that wrapped older objects (after an alias moved to a new key): only these and keyId are trusted to unwrap.',
    },
    credentialsSecretRef: keyPairSecretRef(
      "Secret with a KMS access key pair. Unset: the AWS SDK's standard chain in the sidecar, whose environment link finds the upstream key pair first.",
    ),
  },
  additionalProperties: false,
} as const;

export const keySchema = {
  type: 'object',
  description:
    'The key-encryption key (KEK): minted and rotated by the operator (managed, the default), read from an existing Secret, or held by Vault/OpenBao Transit or AWS KMS.',
  default: {},
  properties: {
    source: {
      type: 'string',
      enum: KEY_SOURCES,
      description:
        'Which source wraps the data keys of new objects. Unset: ExistingSecret when key.existingSecret is set, else Managed (status.keySource shows it). Every other configured source (a keyring, vaultTransit, awsKms) still opens the objects it wrapped.',
    },
    keyringId: {
      type: 'string',
      maxLength: 63,
      pattern: KEYRING_ID,
      description: 'Name recorded in every object sealed with the keyring; defaults to the policy name.',
    },
    managed: {
      type: 'object',
      properties: {
        secretName: {
          ...secretName,
          description: 'Secret holding the key versions; defaults to <policy>-kek.',
        },
        rotationPeriod: {
          type: 'string',
          pattern: DURATION,
          default: '2160h',
          description: 'Age after which a new key version becomes active (e.g. 2160h = 90 days).',
        },
        retainVersions: {
          type: 'integer',
          minimum: 1,
          maximum: 1000,
          description:
            'Prune all but this many newest versions. Unset (the default) keeps every version: objects sealed under a pruned version can no longer be read.',
        },
      },
      additionalProperties: false,
    },
    existingSecret: {
      type: 'object',
      description: 'A keyring Secret you manage (keys v1, v2, … and active); the operator only reads it.',
      required: ['name'],
      properties: { name: secretName },
      additionalProperties: false,
    },
    vaultTransit: vaultTransitSchema,
    awsKms: awsKmsSchema,
    dekCache: {
      type: 'object',
      description:
        'Unwrapped data keys kept in the sidecar memory, so a hot object costs no key-manager call per read. It also bounds how long objects stay readable while the key manager is down.',
      properties: {
        ttlSeconds: {
          type: 'integer',
          minimum: 0,
          maximum: 3600,
          default: 300,
          description: '0 turns it off.',
        },
        maxEntries: {
          type: 'integer',
          minimum: 0,
          maximum: 100000,
          default: 1024,
          description: 'Least recently used out first; 0 turns it off.',
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
  'x-kubernetes-validations': [
    {
      rule: '!(has(self.managed) && has(self.existingSecret))',
      message: 'set key.managed or key.existingSecret, not both',
    },
    {
      rule: "!has(self.source) || self.source != 'Managed' || !has(self.existingSecret)",
      message:
        'key.source Managed mints its own keyring: remove key.existingSecret, or set source ExistingSecret',
    },
    {
      rule: "!has(self.source) || self.source != 'ExistingSecret' || has(self.existingSecret)",
      message: 'key.source ExistingSecret needs key.existingSecret',
    },
    {
      rule: "!has(self.source) || self.source != 'VaultTransit' || has(self.vaultTransit)",
      message: 'key.source VaultTransit needs key.vaultTransit',
    },
    {
      rule: "!has(self.source) || self.source != 'AWSKMS' || has(self.awsKms)",
      message: 'key.source AWSKMS needs key.awsKms',
    },
    {
      rule: "!has(self.vaultTransit) || !has(self.awsKms) || (has(self.vaultTransit.sourceId) ? self.vaultTransit.sourceId : 'vault') != (has(self.awsKms.sourceId) ? self.awsKms.sourceId : 'kms')",
      message: 'key.vaultTransit.sourceId and key.awsKms.sourceId must differ',
    },
    {
      rule: "!has(self.keyringId) || !has(self.vaultTransit) || self.keyringId != (has(self.vaultTransit.sourceId) ? self.vaultTransit.sourceId : 'vault')",
      message: 'key.keyringId and key.vaultTransit.sourceId must differ',
    },
    {
      rule: "!has(self.keyringId) || !has(self.awsKms) || self.keyringId != (has(self.awsKms.sourceId) ? self.awsKms.sourceId : 'kms')",
      message: 'key.keyringId and key.awsKms.sourceId must differ',
    },
  ],
} as const;

export const multipartSchema = {
  type: 'object',
  description: 'Multipart uploads: encrypted with their in-flight state in Valkey, or refused.',
  default: {},
  properties: {
    mode: { type: 'string', enum: ['encrypt', 'refuse'], default: 'refuse' },
    valkey: {
      type: 'object',
      required: ['url'],
      properties: {
        url: {
          type: 'string',
          maxLength: 2048,
          pattern: '^rediss?://[^\\s@]+$',
          description: 'redis:// or rediss:// URL of Valkey (or Redis), without a password.',
        },
        passwordSecretRef: secretKeyRef,
        ttlSeconds: {
          type: 'integer',
          minimum: 60,
          maximum: 31536000,
          default: 604800,
          description: 'How long an in-flight upload state lives after its last part.',
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
  'x-kubernetes-validations': [
    {
      rule: "!has(self.mode) || self.mode != 'encrypt' || has(self.valkey)",
      message: 'multipart.mode encrypt needs multipart.valkey',
    },
  ],
} as const;

export const sidecarSchema = {
  type: 'object',
  description: 'Overrides for the injected proxy container.',
  default: {},
  properties: {
    image: {
      type: 'string',
      minLength: 1,
      maxLength: 512,
      description: "Proxy image; defaults to the operator's --sidecar-image.",
    },
    port: {
      type: 'integer',
      minimum: 1024,
      maximum: 65535,
      default: 8080,
      description: 'Loopback port applications reach the proxy on.',
    },
    healthPort: {
      type: 'integer',
      minimum: 1024,
      maximum: 65535,
      default: 9090,
      description: 'Port of /healthz and /readyz, for the probes.',
    },
    logLevel: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
    resources: {
      type: 'object',
      properties: { requests: resourceList, limits: resourceList },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
  'x-kubernetes-validations': [
    {
      rule: '!has(self.port) || !has(self.healthPort) || self.port != self.healthPort',
      message: 'port and healthPort must differ',
    },
  ],
} as const;

export const specSchema = {
  type: 'object',
  required: ['upstream'],
  properties: {
    upstream: upstreamSchema,
    buckets: bucketsSchema,
    encryption: encryptionSchema,
    key: keySchema,
    multipart: multipartSchema,
    legacyObjects: {
      type: 'string',
      enum: ['reject', 'passthrough'],
      default: 'reject',
      description:
        'Objects without s3seal metadata (written before the policy): refused (reject) or served as stored (passthrough, for migrations).',
    },
    sidecar: sidecarSchema,
  },
  additionalProperties: false,
} as const;

export const conditionSchema = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: { type: 'string', maxLength: 316, pattern: '^([a-z0-9.-]+/)?[A-Za-z0-9_.-]*[A-Za-z0-9]$' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: {
      type: 'string',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', maxLength: 32768 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', minimum: 0 },
  },
  additionalProperties: false,
} as const;

export const statusSchema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer' },
    conditions: {
      type: 'array',
      maxItems: 8,
      items: conditionSchema,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
    activeKeyVersion: {
      type: 'string',
      description: 'Keyring version new objects are sealed with (keyring sources only).',
    },
    keyVersions: { type: 'integer', description: 'Number of key versions kept.' },
    keySecretName: { type: 'string' },
    keyringId: { type: 'string' },
    keySource: {
      type: 'string',
      enum: KEY_SOURCES,
      description:
        'The source that wraps the data keys of new objects (spec.key.source, or what it defaults to).',
    },
    lastRotationTime: { type: 'string', format: 'date-time' },
    nextRotationTime: { type: 'string', format: 'date-time' },
    configMapName: { type: 'string', description: 'ConfigMap holding the rendered proxy configuration.' },
  },
  additionalProperties: false,
} as const;
