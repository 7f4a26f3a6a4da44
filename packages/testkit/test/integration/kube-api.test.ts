import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type KubeApi, startKubeApi } from '@s3seal/testkit';

import { isProcessGone } from '../helpers/processes.js';

const execFileAsync = promisify(execFile);

describe('startKubeApi', () => {
  let kube: KubeApi;

  beforeAll(async () => {
    kube = await startKubeApi();
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('serves kubectl with the generated kubeconfig', async () => {
    const { stdout } = await execFileAsync('kubectl', [
      '--kubeconfig',
      kube.kubeconfigPath,
      'get',
      'namespaces',
      '-o',
      'name',
    ]);
    expect(stdout.split('\n')).toContain('namespace/default');
  });

  it('creates and reads back a ConfigMap through client-node', async () => {
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'rig-check' }, data: { greeting: 'hello' } },
    });
    const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'rig-check' });
    expect(read.data).toEqual({ greeting: 'hello' });
  });

  it('writes a kubeconfig KubeConfig.loadFromFile accepts', () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    expect(kc.getCurrentCluster()?.server).toBe(kube.server);
    expect(kube.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  // Last: it stops the shared server (afterAll's stop() is then a no-op).
  it('leaves neither etcd nor kube-apiserver behind after stop', async () => {
    const { etcd, kubeApiserver } = kube.pids;
    await kube.stop();
    expect(isProcessGone(kubeApiserver)).toBe(true);
    expect(isProcessGone(etcd)).toBe(true);
  });
});
