import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { KubeConfig } from '@kubernetes/client-node';

import { findBinary } from './binaries.js';
import { startEtcd } from './etcd.js';
import { generateKubePki, type KubePki } from './kube-pki.js';
import { renderKubeconfig } from './kubeconfig.js';
import { freePort, retryOnPortClash } from './ports.js';
import { httpStatus } from './probes.js';
import { type ServerProcess, startServerProcess } from './process.js';
import { createRunDir } from './run-dir.js';

export interface KubeApi {
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Admin (system:masters) client-certificate kubeconfig, for `kubectl --kubeconfig` or KubeConfig.loadFromFile. */
  kubeconfigPath: string;
  /** The CA of the serving certificate (and of client certificates), PEM. */
  caPem: string;
  /** The public key that verifies service-account tokens (what a JWT verifier such as Vault's needs), PEM. */
  serviceAccountPublicKeyPem: string;
  /** Process ids, to check that stop() left nothing behind. */
  pids: { etcd: number; kubeApiserver: number };
  /** A fresh client-node KubeConfig loaded from kubeconfigPath. */
  kubeConfig(): KubeConfig;
  /** Stops kube-apiserver, then etcd. */
  stop(): Promise<void>;
  /**
   * Stops kube-apiserver (SIGTERM) and starts it again on the same port with the same certificates
   * and etcd, so clients built before keep working: watches break, state survives. Resolves once
   * it is ready again. kubeconfigPath may name a new file afterwards (each start has its run dir).
   */
  restartApiserver(options?: { downMs?: number }): Promise<void>;
}

export interface StartKubeApiOptions {
  /** For each of etcd (default 30 s) and kube-apiserver (default 90 s, under jest's 120 s hook timeout). */
  readyTimeoutMs?: number;
}

/**
 * etcd plus kube-apiserver, configured as controller-runtime's envtest does
 * (pkg/internal/testing/controlplane/apiserver.go): RBAC, an admin client certificate, no
 * controllers (nothing reconciles Deployments or creates ServiceAccount tokens).
 */
export async function startKubeApi(options: StartKubeApiOptions = {}): Promise<KubeApi> {
  const binary = findBinary('kube-apiserver');
  findBinary('etcd'); // Report a missing binary before starting anything.
  const pki = await generateKubePki();
  const etcd = await startEtcd({ readyTimeoutMs: options.readyTimeoutMs });
  let apiserver: ServerProcess & { server: string; kubeconfigPath: string };
  try {
    apiserver = await retryOnPortClash(() =>
      startApiserver(binary, pki, etcd.endpoint, options.readyTimeoutMs ?? 90_000),
    );
  } catch (err: unknown) {
    await etcd.stop();
    throw err;
  }
  const { server } = apiserver;
  const port = Number(new URL(server).port);
  const pids = { etcd: etcd.pid, kubeApiserver: apiserver.pid };
  return {
    server,
    get kubeconfigPath() {
      return apiserver.kubeconfigPath;
    },
    caPem: pki.caPem,
    serviceAccountPublicKeyPem: pki.serviceAccount.publicKeyPem,
    pids,
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromFile(apiserver.kubeconfigPath);
      return kc;
    },
    stop: async () => {
      try {
        await apiserver.stop();
      } finally {
        await etcd.stop();
      }
    },
    restartApiserver: async ({ downMs = 0 } = {}) => {
      await apiserver.stop();
      if (downMs > 0) await sleep(downMs);
      apiserver = await startApiserver(binary, pki, etcd.endpoint, options.readyTimeoutMs ?? 90_000, port);
      pids.kubeApiserver = apiserver.pid;
    },
  };
}

async function startApiserver(
  binary: string,
  pki: KubePki,
  etcdEndpoint: string,
  readyTimeoutMs: number,
  fixedPort?: number,
): Promise<ServerProcess & { server: string; kubeconfigPath: string }> {
  const runDir = await createRunDir('kube-apiserver');
  const file = async (name: string, content: string): Promise<string> => {
    const filePath = path.join(runDir, name);
    await writeFile(filePath, content, { mode: 0o600 });
    return filePath;
  };
  const caFile = await file('ca.crt', pki.caPem);
  const certFile = await file('apiserver.crt', pki.serving.certPem);
  const keyFile = await file('apiserver.key', pki.serving.keyPem);
  const saKeyFile = await file('sa.key', pki.serviceAccount.privateKeyPem);
  const saPubFile = await file('sa.pub', pki.serviceAccount.publicKeyPem);
  const port = fixedPort ?? (await freePort());
  const server = `https://127.0.0.1:${port}`;
  const kubeconfigPath = await file(
    'kubeconfig',
    renderKubeconfig({
      server,
      caPem: pki.caPem,
      clientCertPem: pki.admin.certPem,
      clientKeyPem: pki.admin.keyPem,
    }),
  );

  const apiserver = await startServerProcess({
    name: 'kube-apiserver',
    command: binary,
    args: [
      `--etcd-servers=${etcdEndpoint}`,
      `--cert-dir=${runDir}`,
      `--tls-cert-file=${certFile}`,
      `--tls-private-key-file=${keyFile}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      // Without it the apiserver looks for a non-loopback interface to advertise.
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      // No controller-manager creates ServiceAccounts, so the admission plugin would reject every Pod.
      '--disable-admission-plugins=ServiceAccount',
      `--service-account-issuer=${server}/`,
      `--service-account-key-file=${saPubFile}`,
      `--service-account-signing-key-file=${saKeyFile}`,
      `--client-ca-file=${caFile}`,
    ],
    runDir,
    isReady: async (signal) =>
      (await httpStatus(`${server}/readyz`, signal, {
        ca: pki.caPem,
        cert: pki.admin.certPem,
        key: pki.admin.keyPem,
      })) === 200,
    readyTimeoutMs,
  });
  return { ...apiserver, server, kubeconfigPath };
}
