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
    credentialsSecretRef: {
      type: 'object',
      description:
        'Secret with the upstream access key pair. Applications sign with the same pair, so they keep their credentials.',
      required: ['name'],
      properties: {
        name: { ...secretName, description: 'Secret name, in the policy namespace.' },
        accessKeyIdKey: { type: 'string', pattern: SECRET_KEY, default: 'AWS_ACCESS_KEY_ID' },
        secretAccessKeyKey: { type: 'string', pattern: SECRET_KEY, default: 'AWS_SECRET_ACCESS_KEY' },
      },
      additionalProperties: false,
    },
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

export const keySchema = {
  type: 'object',
  description:
    'The key-encryption key (KEK): minted and rotated by the operator (managed, the default) or read from an existing Secret.',
  default: {},
  properties: {
    keyringId: {
      type: 'string',
      pattern: KEYRING_ID,
      description: 'Name recorded in every object; defaults to the policy name.',
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
  },
  additionalProperties: false,
  'x-kubernetes-validations': [
    {
      rule: '!(has(self.managed) && has(self.existingSecret))',
      message: 'set key.managed or key.existingSecret, not both',
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
    activeKeyVersion: { type: 'string', description: 'Key version new objects are sealed with.' },
    keyVersions: { type: 'integer', description: 'Number of key versions kept.' },
    keySecretName: { type: 'string' },
    keyringId: { type: 'string' },
    lastRotationTime: { type: 'string', format: 'date-time' },
    nextRotationTime: { type: 'string', format: 'date-time' },
    configMapName: { type: 'string', description: 'ConfigMap holding the rendered proxy configuration.' },
  },
  additionalProperties: false,
} as const;
