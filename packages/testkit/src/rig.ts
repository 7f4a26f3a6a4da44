import { type KubeApi, startKubeApi } from './kube-api.js';
import { type MinioServer, startMinio } from './minio.js';
import { startValkey, type ValkeyServer } from './valkey.js';

export interface RigOptions {
  minio?: boolean;
  valkey?: boolean;
  kube?: boolean;
}

/** The servers asked for are present (typed as such); the others are undefined. */
export type Rig<O extends RigOptions = RigOptions> = {
  minio: O['minio'] extends true ? MinioServer : MinioServer | undefined;
  valkey: O['valkey'] extends true ? ValkeyServer : ValkeyServer | undefined;
  kube: O['kube'] extends true ? KubeApi : KubeApi | undefined;
  /** Stops every server, even when one stop fails; rethrows the first failure afterwards. */
  stop(): Promise<void>;
};

interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Starts the requested servers in parallel. If one fails to start, the ones that did start are
 * stopped before the first start error is rethrown.
 */
export async function startRig<const O extends RigOptions>(options: O): Promise<Rig<O>> {
  const [minio, valkey, kube] = await Promise.allSettled([
    options.minio === true ? startMinio() : undefined,
    options.valkey === true ? startValkey() : undefined,
    options.kube === true ? startKubeApi() : undefined,
  ]);
  const started = [minio, valkey, kube].flatMap((r) =>
    r.status === 'fulfilled' && r.value ? [r.value] : [],
  );
  const stop = (): Promise<void> => stopAll(started);
  const failure = [minio, valkey, kube].find((r) => r.status === 'rejected');
  if (failure !== undefined) {
    await stop();
    throw failure.reason;
  }
  return {
    minio: valueOf(minio),
    valkey: valueOf(valkey),
    kube: valueOf(kube),
    stop,
  } as Rig<O>;
}

async function stopAll(servers: readonly Stoppable[]): Promise<void> {
  const results = await Promise.allSettled(servers.map((s) => s.stop()));
  const failure = results.find((r) => r.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

function valueOf<T>(result: PromiseSettledResult<T | undefined>): T | undefined {
  return result.status === 'fulfilled' ? result.value : undefined;
}
