// A multipart upload with @aws-sdk/lib-storage (8 MiB parts, 4 at a time), then a full GET of
// the object. Reported as null for a target that answers CreateMultipartUpload with NotImplemented.
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { bodyStream } from '../body-source.js';
import type { BenchConfig } from '../config.js';
import { repeat, throughput, timed } from '../measure.js';
import type { Sample, Throughput } from '../measure.js';
import type { Rig, Target, TargetName } from '../rig.js';
import { expectBytes } from './large-objects.js';

export type MultipartTargetResult =
  | { readonly upload: Throughput; readonly get: Throughput }
  | { readonly upload: null; readonly get: null; readonly reason: string };

export interface MultipartResult {
  readonly objectBytes: number;
  readonly partBytes: number;
  readonly queueSize: number;
  /** Whether the proxy ran with Valkey for its multipart state (builds that have multipart). */
  readonly isProxyWithValkey: boolean;
  readonly targets: Record<TargetName, MultipartTargetResult>;
}

export async function runMultipart(
  rig: Rig,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<MultipartResult> {
  await rig.useLayout('pinned');
  const size = config.multipartBytes;
  const unsupported = new Map<TargetName, string>();
  for (const target of Object.values(rig.targets)) {
    const reason = await multipartRefusal(rig, target);
    if (reason !== undefined) {
      unsupported.set(target.name, reason);
      log(`multipart ${target.name}: not measured (${reason})`);
    }
  }
  const samples: Record<TargetName, { upload: Sample[]; get: Sample[] }> = {
    direct: { upload: [], get: [] },
    s3seal: { upload: [], get: [] },
  };
  await repeat(config.runs, async (run) => {
    for (const target of rig.ordered(run)) {
      if (unsupported.has(target.name)) continue;
      const key = `multipart/${target.name}`;
      const upload = await timed(rig, size, () =>
        new Upload({
          client: target.sdk,
          params: { Bucket: rig.bucket, Key: key, Body: bodyStream(size) },
          partSize: config.multipartPartBytes,
          queueSize: config.multipartQueue,
        }).done(),
      );
      const get = await timed(rig, size, async () =>
        expectBytes(await target.http.get(rig.bucket, key), size),
      );
      if (run < 0) continue;
      samples[target.name].upload.push(upload);
      samples[target.name].get.push(get);
      log(
        `multipart run ${run + 1} ${target.name}: upload ${(size / 2 ** 20 / upload.seconds).toFixed(0)} MiB/s, ` +
          `get ${(size / 2 ** 20 / get.seconds).toFixed(0)} MiB/s`,
      );
    }
  });
  const result = (name: TargetName): MultipartTargetResult => {
    const reason = unsupported.get(name);
    if (reason !== undefined) return { upload: null, get: null, reason };
    return { upload: throughput(samples[name].upload), get: throughput(samples[name].get) };
  };
  for (const target of Object.values(rig.targets)) {
    if (!unsupported.has(target.name)) await target.http.delete(rig.bucket, `multipart/${target.name}`);
  }
  return {
    objectBytes: size,
    partBytes: config.multipartPartBytes,
    queueSize: config.multipartQueue,
    isProxyWithValkey: rig.valkey !== undefined,
    targets: { direct: result('direct'), s3seal: result('s3seal') },
  };
}

/** Why the target cannot take a multipart upload (NotImplemented), or undefined if it can. */
async function multipartRefusal(rig: Rig, target: Target): Promise<string | undefined> {
  const Key = `multipart/${target.name}-probe`;
  try {
    const created = await target.sdk.send(new CreateMultipartUploadCommand({ Bucket: rig.bucket, Key }));
    await target.sdk.send(
      new AbortMultipartUploadCommand({ Bucket: rig.bucket, Key, UploadId: created.UploadId }),
    );
    return undefined;
  } catch (err: unknown) {
    if (err instanceof Error && err.name === 'NotImplemented') {
      return `CreateMultipartUpload answered NotImplemented: ${err.message}`;
    }
    throw err;
  }
}
