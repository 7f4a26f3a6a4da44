import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { V1Container, V1Pod } from '@kubernetes/client-node';

import type { Cluster } from './cluster.js';

export interface LocalContainer {
  readonly env: Readonly<Record<string, string>>;
  readonly args: readonly string[];
  readonly logPath: string;
  stop(): Promise<void>;
}

/**
 * Runs one container of a stored pod as a local process, the way the kubelet would: its args,
 * its environment (secretKeyRefs resolved from the API), and its volumes (ConfigMaps and
 * Secrets read from the API) written to disk. The one liberty: mount paths are re-rooted under
 * `rootDir` (no mount namespace here), in the args, the environment and mounted text alike.
 */
export async function runContainerLocally(options: {
  cluster: Cluster;
  pod: V1Pod;
  namespace: string;
  container: V1Container;
  /** What the image's entrypoint runs, e.g. [node, packages/proxy/dist/main.js]. */
  entrypoint: readonly string[];
  rootDir: string;
}): Promise<LocalContainer> {
  const { cluster, pod, namespace, container, rootDir } = options;
  const mounts = container.volumeMounts ?? [];
  const reroot = (text: string): string =>
    mounts.reduce((acc, m) => acc.replaceAll(m.mountPath, path.join(rootDir, m.mountPath)), text);

  for (const mount of mounts) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volume ${mount.name} is not in the pod`);
    const dir = path.join(rootDir, mount.mountPath);
    await mkdir(dir, { recursive: true });
    if (volume.configMap) {
      const configMap = await cluster.core.readNamespacedConfigMap({
        namespace,
        name: volume.configMap.name!,
      });
      const items =
        volume.configMap.items ?? Object.keys(configMap.data ?? {}).map((key) => ({ key, path: key }));
      for (const item of items)
        await writeFile(path.join(dir, item.path), reroot(configMap.data?.[item.key] ?? ''));
    } else if (volume.secret) {
      const secret = await cluster.secret(namespace, volume.secret.secretName!);
      if (!secret)
        throw new Error(`Secret ${volume.secret.secretName} not found: the kubelet would not start the pod`);
      // `items` projects chosen keys to chosen paths (the Vault token key to `token`); a key
      // it names that the Secret lacks keeps the kubelet from starting the pod.
      const items =
        volume.secret.items ??
        Object.keys(secret.data ?? {}).map((key) => ({ key, path: key, mode: undefined }));
      for (const item of items) {
        const data = secret.data?.[item.key];
        if (data === undefined)
          throw new Error(
            `Secret ${volume.secret.secretName} has no key ${item.key}: the kubelet would not start the pod`,
          );
        await writeFile(path.join(dir, item.path), Buffer.from(data, 'base64'), {
          mode: item.mode ?? volume.secret.defaultMode ?? 0o644,
        });
      }
    } else throw new Error(`volume ${mount.name}: only configMap and secret volumes are supported here`);
  }

  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = reroot(variable.value);
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = await cluster.secret(namespace, ref.name!);
      const data = secret?.data?.[ref.key];
      if (data === undefined)
        throw new Error(`${variable.name}: Secret ${ref.name} key ${ref.key} not found`);
      env[variable.name] = Buffer.from(data, 'base64').toString('utf8');
    }
  }
  const args = [...(container.command ?? []), ...(container.args ?? [])].map(reroot);
  const logPath = path.join(rootDir, `${container.name}.log`);
  const log = openSync(logPath, 'a');
  const [command, ...entryArgs] = options.entrypoint;
  const child: ChildProcess = spawn(command!, [...entryArgs, ...args], {
    // Only what the container has (plus PATH and HOME so node runs).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', log, log],
  });
  return {
    env,
    args,
    logPath,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      // The grace timer is cancelled once the process exits, so it holds no test run open.
      const grace = new AbortController();
      const killLate = sleep(5_000, undefined, { signal: grace.signal }).then(
        () => child.kill('SIGKILL'),
        () => undefined,
      );
      await Promise.race([exited, killLate]);
      grace.abort();
    },
  };
}

/** Polls an httpGet probe as the kubelet does until it answers 2xx, or fails with the last answer. */
export async function waitForProbe(url: string, timeoutMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      const body = await res.text();
      if (res.ok) return JSON.parse(body) as unknown;
      last = `${res.status} ${body}`;
    } catch (err: unknown) {
      last = String(err);
    }
    await sleep(200);
  }
  throw new Error(`probe ${url} never passed: ${last}`);
}

/**
 * Starts the s3seal sidecar the webhook injected into a stored pod as a local process, exactly
 * as the kubelet would (its args, env from Secrets, mounted ConfigMap and Secret files, under
 * Dockerfile.proxy's entrypoint with this machine's node), and waits for its startup probe.
 * Resolves with the running process, the probe's answer and the endpoint the app containers got.
 */
export async function startInjectedSidecar(options: {
  readonly cluster: Cluster;
  readonly pod: V1Pod;
  readonly namespace: string;
  readonly proxyMain: string;
  readonly nodeFlags: readonly string[];
  readonly rootDir: string;
}): Promise<{ running: LocalContainer; ready: unknown; appEndpoint: string }> {
  const sidecar = options.pod.spec!.initContainers!.find((c) => c.name === 's3seal-proxy')!;
  const running = await runContainerLocally({
    cluster: options.cluster,
    pod: options.pod,
    namespace: options.namespace,
    container: sidecar,
    entrypoint: [process.execPath, ...options.nodeFlags, options.proxyMain],
    rootDir: options.rootDir,
  });
  let ready: unknown;
  try {
    const probe = sidecar.startupProbe!.httpGet!;
    ready = await waitForProbe(`http://127.0.0.1:${String(probe.port)}${probe.path}`);
  } catch (err: unknown) {
    await running.stop();
    throw new Error(`${String(err)}\n${readFileSync(running.logPath, 'utf8')}`, { cause: err });
  }
  const appEndpoint = options.pod.spec!.containers[0]!.env!.find(
    (e) => e.name === 'AWS_ENDPOINT_URL',
  )!.value!;
  return { running, ready, appEndpoint };
}
