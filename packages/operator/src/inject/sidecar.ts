import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

import { SIDECAR_NAME } from '../api/names.js';
import type { EncryptionPolicy } from '../api/types.js';
import { keyringSecretOf, proxyConfigMapName } from '../render/names.js';
import { PROXY_CONFIG_KEY, SIDECAR_PATHS } from '../render/proxy-config.js';

export const CONFIG_VOLUME = 's3seal-config';
export const KEK_VOLUME = 's3seal-kek';
export const VAULT_TOKEN_VOLUME = 's3seal-vault-token';
export const VAULT_CA_VOLUME = 's3seal-vault-ca';
export const VAULT_SA_TOKEN_VOLUME = 's3seal-vault-sa-token';
/** Audience of the projected token for Vault's Kubernetes auth when the policy names none. */
export const DEFAULT_VAULT_AUDIENCE = 'vault';
/** The kubelet refreshes a projected token at 80 % of its life; Vault sees a fresh one at every login. */
export const VAULT_TOKEN_EXPIRATION_SECONDS = 3600;
export const SIDECAR_USER = 65532;
/** The named port of the S3 listener; a reinvocation reads the port back from it. */
export const SIDECAR_PORT_NAME = 's3seal';

/** Where the operator's defaults for injected sidecars come from (its flags). */
export interface SidecarDefaults {
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

const DEFAULT_RESOURCES = { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } };

/** The environment variables applications use to find S3: both the general and the S3-specific one. */
export function endpointEnv(port: number): V1EnvVar[] {
  const url = `http://127.0.0.1:${port}`;
  return [
    { name: 'AWS_ENDPOINT_URL', value: url },
    { name: 'AWS_ENDPOINT_URL_S3', value: url },
  ];
}

/**
 * The proxy as a native sidecar: an init container with restartPolicy Always starts before the
 * app's containers (and its other init containers), keeps running beside them, and is stopped
 * after them, so an app never talks to S3 without it.
 */
export function sidecarContainer(policy: EncryptionPolicy, defaults: SidecarDefaults): V1Container {
  const { sidecar, upstream, multipart } = policy.spec;
  const credentials = upstream.credentialsSecretRef;
  const kmsCredentials = policy.spec.key.awsKms?.credentialsSecretRef;
  const password = multipart.mode === 'encrypt' ? multipart.valkey?.passwordSecretRef : undefined;
  const fromSecret = (name: string, secret: string, key: string): V1EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });
  return {
    name: SIDECAR_NAME,
    image: sidecar.image ?? defaults.image,
    ...(defaults.imagePullPolicy ? { imagePullPolicy: defaults.imagePullPolicy } : {}),
    restartPolicy: 'Always',
    args: ['--config', SIDECAR_PATHS.configFile],
    env: [
      fromSecret('AWS_ACCESS_KEY_ID', credentials.name, credentials.accessKeyIdKey),
      fromSecret('AWS_SECRET_ACCESS_KEY', credentials.name, credentials.secretAccessKeyKey),
      ...(password ? [fromSecret('S3SEAL_VALKEY_PASSWORD', password.name, password.key)] : []),
      ...(kmsCredentials
        ? [
            fromSecret('S3SEAL_KMS_ACCESS_KEY_ID', kmsCredentials.name, kmsCredentials.accessKeyIdKey),
            fromSecret(
              'S3SEAL_KMS_SECRET_ACCESS_KEY',
              kmsCredentials.name,
              kmsCredentials.secretAccessKeyKey,
            ),
          ]
        : []),
    ],
    ports: [
      { name: SIDECAR_PORT_NAME, containerPort: sidecar.port, protocol: 'TCP' },
      { name: 's3seal-health', containerPort: sidecar.healthPort, protocol: 'TCP' },
    ],
    // The app's containers start only once the startup probe passed: keyring loaded, listening.
    startupProbe: {
      httpGet: { path: '/readyz', port: sidecar.healthPort },
      periodSeconds: 1,
      failureThreshold: 120,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: sidecar.healthPort },
      periodSeconds: 5,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: sidecar.healthPort },
      periodSeconds: 10,
      failureThreshold: 3,
    },
    resources: sidecar.resources ?? DEFAULT_RESOURCES,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_USER,
      runAsGroup: SIDECAR_USER,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: sidecarVolumeMounts(policy),
  };
}

/** Where each injected volume is mounted in the sidecar (and nowhere else). */
const MOUNT_PATHS: Readonly<Record<string, string>> = {
  [CONFIG_VOLUME]: SIDECAR_PATHS.configDir,
  [KEK_VOLUME]: SIDECAR_PATHS.kekDir,
  [VAULT_TOKEN_VOLUME]: SIDECAR_PATHS.vaultTokenDir,
  [VAULT_CA_VOLUME]: SIDECAR_PATHS.vaultCaDir,
  [VAULT_SA_TOKEN_VOLUME]: SIDECAR_PATHS.vaultServiceAccountTokenDir,
};

function sidecarVolumeMounts(policy: EncryptionPolicy): V1VolumeMount[] {
  return sidecarVolumes(policy).map((v) => ({
    name: v.name,
    mountPath: MOUNT_PATHS[v.name]!,
    readOnly: true,
  }));
}

/**
 * The rendered configuration, the keyring (when the policy has one), and what the sidecar
 * needs to reach Vault: the token or a projected service-account token, and the CA bundle.
 * All read-only, and only in the sidecar.
 */
export function sidecarVolumes(policy: EncryptionPolicy): V1Volume[] {
  const keyring = keyringSecretOf(policy);
  const vault = policy.spec.key.vaultTransit;
  const token = vault?.auth.tokenSecretRef;
  const kubernetes = vault?.auth.kubernetes;
  const ca = vault?.caSecretRef;
  // Secret files belong to root; the sidecar runs as a non-root user with no fsGroup of its
  // own, so they must be world-readable inside its (single-process) container.
  const mode = 0o444;
  return [
    {
      name: CONFIG_VOLUME,
      configMap: {
        name: proxyConfigMapName(policy),
        items: [{ key: PROXY_CONFIG_KEY, path: PROXY_CONFIG_KEY }],
      },
    },
    ...(keyring === undefined
      ? []
      : [{ name: KEK_VOLUME, secret: { secretName: keyring, defaultMode: mode } }]),
    ...(token
      ? [
          {
            name: VAULT_TOKEN_VOLUME,
            secret: { secretName: token.name, items: [{ key: token.key, path: 'token' }], defaultMode: mode },
          },
        ]
      : []),
    ...(kubernetes
      ? [
          {
            // The ServiceAccount admission plugin mounts the default token only into the
            // containers the pod had when it ran, never into ones a webhook adds later; and
            // Vault roles usually want their own audience. So: a projected token of our own.
            name: VAULT_SA_TOKEN_VOLUME,
            projected: {
              defaultMode: mode,
              sources: [
                {
                  serviceAccountToken: {
                    audience: kubernetes.audience ?? DEFAULT_VAULT_AUDIENCE,
                    expirationSeconds: VAULT_TOKEN_EXPIRATION_SECONDS,
                    path: 'token',
                  },
                },
              ],
            },
          },
        ]
      : []),
    ...(ca
      ? [
          {
            name: VAULT_CA_VOLUME,
            secret: { secretName: ca.name, items: [{ key: ca.key, path: 'ca.crt' }], defaultMode: mode },
          },
        ]
      : []),
  ];
}
