export interface KubeconfigInput {
  /** `https://127.0.0.1:<port>` */
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** Names the cluster, user and context. */
  name?: string;
}

/**
 * A kubeconfig with inline client-certificate auth. JSON is YAML, so kubectl and client-node's
 * KubeConfig.loadFromFile both read it.
 */
export function renderKubeconfig(input: KubeconfigInput): string {
  const name = input.name ?? 's3seal-rig';
  const base64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name, cluster: { server: input.server, 'certificate-authority-data': base64(input.caPem) } },
    ],
    users: [
      {
        name,
        user: {
          'client-certificate-data': base64(input.clientCertPem),
          'client-key-data': base64(input.clientKeyPem),
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
