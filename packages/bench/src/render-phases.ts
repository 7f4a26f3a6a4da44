// The per-phase sections of docs/BENCHMARKS.md.
import type { LayoutName } from './affinity.js';
import { FIGURES } from './phases/large-objects.js';
import type { PeakFigure } from './phases/memory.js';
import type { SmallCell } from './phases/small-objects.js';
import { FIGURE_NAMES, n, OP_NAMES } from './render-format.js';
import type { Results } from './results.js';
import { ratio } from './stats.js';
import { sizeLabel } from './units.js';

type Line = (s?: string) => void;

export function largeTables(r: Results, line: Line): void {
  const large = r.raw.large;
  if (!large) return;
  line(`## Large objects (${sizeLabel(large.objectBytes)}, undici, UNSIGNED-PAYLOAD)`);
  line();
  line(
    'CPU shares are CPU seconds per second of wall time (1.00 = one full core). Pinned, the proxy has CPU 0 to ' +
      'itself and MinIO shares CPU 1 with the client.',
  );
  line();
  for (const layout of ['pinned', 'unpinned'] as LayoutName[]) {
    const figures = large.layouts[layout];
    if (!figures) continue;
    line(
      layout === 'pinned'
        ? '**Pinned**: proxy on CPU 0; MinIO and the load generator on CPU 1.'
        : '**Unpinned**: every process may run on every core.',
    );
    line();
    line(
      '| | direct MiB/s | s3seal MiB/s | ratio | proxy CPU s/GiB (of which kernel) | CPU share direct: MinIO + client | CPU share s3seal: proxy; MinIO + client |',
    );
    line('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const f of FIGURES) {
      const { direct, s3seal } = figures[f];
      line(
        `| ${FIGURE_NAMES[f]} | ${n(direct.mibPerSecond, 0)} | ${n(s3seal.mibPerSecond, 0)} | ` +
          `${n(ratio(s3seal.mibPerSecond, direct.mibPerSecond), 2)} | ${n(s3seal.proxyCpuSecondsPerGiB, 2)} (${n(s3seal.proxyKernelCpuSecondsPerGiB ?? null, 2)}) | ` +
          `${n(direct.minioCpuShare, 2)} + ${n(direct.loadgenCpuShare, 2)} | ` +
          `${n(s3seal.proxyCpuShare, 2)}; ${n(s3seal.minioCpuShare, 2)} + ${n(s3seal.loadgenCpuShare, 2)} |`,
      );
    }
    line();
  }
}

export function smallTable(r: Results, line: Line): void {
  const small = r.raw.small;
  if (!small) return;
  line(`## Small objects (warp, pinned)`);
  line();
  line(
    `${small.loadGenerator}; ${small.windows} measured window(s) of ${small.windowSeconds} s after a warm-up window; ` +
      `GET and HEAD over ${small.preparedObjects} prepared objects; LIST = one full listing of ${small.listKeys} keys ` +
      '(warp pages 100 keys per request). Latency percentiles are over every operation of the measured windows, from ' +
      "warp's per-operation log (nanoseconds), not its millisecond summary.",
  );
  line();
  line(
    '| op | size | conc. | direct ops/s | s3seal ops/s | ratio | p50 ms direct / s3seal | p99 ms direct / s3seal | added p50 ms | proxy CPU ms/op | warp CPU share (direct) |',
  );
  line('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const key = (c: SmallCell): string => `${c.benchmark}/${c.objectBytes}/${c.concurrency}`;
  const seen = new Set<string>();
  for (const cell of small.cells) {
    if (seen.has(key(cell))) continue;
    seen.add(key(cell));
    const pair = small.cells.filter((c) => key(c) === key(cell));
    const direct = pair.find((c) => c.target === 'direct');
    const s3seal = pair.find((c) => c.target === 's3seal');
    if (!direct || !s3seal) continue;
    const cpuPerOp =
      s3seal.proxyCpuShare === null ? null : (s3seal.proxyCpuShare / s3seal.opsPerSecond) * 1000;
    line(
      `| ${OP_NAMES[cell.benchmark] ?? cell.benchmark} | ${sizeLabel(cell.objectBytes)} | ${cell.concurrency} | ` +
        `${n(direct.opsPerSecond, 0)} | ${n(s3seal.opsPerSecond, 0)} | ${n(ratio(s3seal.opsPerSecond, direct.opsPerSecond), 2)} | ` +
        `${n(direct.p50Ms, 2)} / ${n(s3seal.p50Ms, 2)} | ${n(direct.p99Ms, 2)} / ${n(s3seal.p99Ms, 2)} | ` +
        `${n(s3seal.p50Ms - direct.p50Ms, 2)} | ${n(cpuPerOp, 3)} | ${n(direct.warpCpuShare, 2)} |`,
    );
  }
  const errors = small.cells.filter((c) => c.errors > 0);
  if (errors.length > 0) {
    line();
    for (const c of errors)
      line(
        `- ${c.target} ${c.benchmark} ${sizeLabel(c.objectBytes)} c${c.concurrency}: ${c.errors} failed operations`,
      );
  }
  line();
}

export function rangeAndMultipart(r: Results, line: Line): void {
  const range = r.raw.range;
  if (range) {
    line('## Ranged GET');
    line();
    line(
      `${sizeLabel(range.length)} from byte ${range.start} of the ${sizeLabel(range.objectBytes)} object (not on a chunk ` +
        `boundary), ${range.requestsPerRun} sequential requests per run; median latency.`,
    );
    line();
    line('| | direct | s3seal | direct ÷ s3seal |');
    line('| --- | ---: | ---: | ---: |');
    const { direct, s3seal } = range.targets;
    line(
      `| latency ms | ${n(direct.latencyMs, 2)} | ${n(s3seal.latencyMs, 2)} | ${n(ratio(direct.latencyMs, s3seal.latencyMs), 2)} |`,
    );
    line(`| MiB/s | ${n(direct.mibPerSecond, 0)} | ${n(s3seal.mibPerSecond, 0)} | |`);
    line();
  }
  const mpu = r.raw.multipart;
  if (mpu) {
    line('## Multipart upload');
    line();
    line(
      `${sizeLabel(mpu.objectBytes)} with @aws-sdk/lib-storage (${sizeLabel(mpu.partBytes)} parts, ${mpu.queueSize} at a ` +
        'time), then a full GET of the object (undici)' +
        (mpu.isProxyWithValkey
          ? '; the proxy keeps upload state in a local redis-server (Valkey protocol).'
          : '.'),
    );
    line();
    line('| | direct MiB/s | s3seal MiB/s | ratio | proxy CPU s/GiB |');
    line('| --- | ---: | ---: | ---: | ---: |');
    const { direct, s3seal } = mpu.targets;
    for (const f of ['upload', 'get'] as const) {
      const d = direct[f];
      const s = s3seal[f];
      line(
        `| ${f === 'upload' ? 'multipart upload' : 'GET of it'} | ${n(d?.mibPerSecond ?? null, 0)} | ` +
          `${s ? n(s.mibPerSecond, 0) : 'not measured'} | ${n(ratio(s?.mibPerSecond, d?.mibPerSecond), 2)} | ` +
          `${n(s?.proxyCpuSecondsPerGiB ?? null, 2)} |`,
      );
    }
    if ('reason' in s3seal) line(`\ns3seal: ${s3seal.reason}`);
    line();
  }
}

export function cryptoTable(r: Results, line: Line): void {
  const crypto = r.raw.crypto;
  if (!crypto) return;
  line('## Crypto alone (one core)');
  line();
  line(
    `The core format's EncryptStream and DecryptStream (AES-256-GCM, one KeyObject per segment, input in 1 MiB ` +
      `buffers, ${sizeLabel(crypto.bytesPerRun)} per run), pinned to CPU ${crypto.cpu}, against ` +
      `\`openssl speed -evp aes-256-gcm -bytes <chunk>\` (${crypto.opensslVersion}) on the same core.`,
  );
  line();
  line(
    '| chunk | encrypt MiB/s | decrypt MiB/s | openssl encrypt | openssl decrypt | encrypt ÷ openssl | decrypt ÷ openssl |',
  );
  line('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of crypto.chunks) {
    line(
      `| ${sizeLabel(c.chunkSize)} | ${n(c.encryptMiBPerSecond, 0)} | ${n(c.decryptMiBPerSecond, 0)} | ` +
        `${n(c.opensslEncryptMiBPerSecond, 0)} | ${n(c.opensslDecryptMiBPerSecond, 0)} | ` +
        `${n(c.encryptMiBPerSecond / c.opensslEncryptMiBPerSecond, 2)} | ${n(c.decryptMiBPerSecond / c.opensslDecryptMiBPerSecond, 2)} |`,
    );
  }
  line();
}

export function memoryTable(r: Results, line: Line): void {
  const m = r.raw.memory;
  if (!m) return;
  line('## Proxy memory');
  line();
  line(
    `Peak RSS of the proxy process (VmHWM after resetting it through /proc/<pid>/clear_refs, and RSS sampled every ` +
      `100 ms), a freshly started proxy for each load; idle RSS of a fresh proxy: ${n(m.idleRssMiB, 0)} MiB.`,
  );
  line();
  line(
    'V8 columns: maxima of `nodejs_external_memory_bytes` (Buffers, outside the heap) and ' +
      '`nodejs_heap_size_used_bytes` from the proxy’s own /metrics, sampled every 250 ms during the load.',
  );
  line();
  line('| load | peak RSS MiB | V8 external MiB | V8 heap used MiB | MiB/s |');
  line('| --- | ---: | ---: | ---: | ---: |');
  const row = (name: string, f: PeakFigure): void =>
    line(
      `| ${name} | ${n(f.peakRssMiB, 0)} | ${n(f.peakExternalMiB ?? null, 0)} | ${n(f.peakHeapUsedMiB ?? null, 0)} | ` +
        `${n(f.mibPerSecond, 0)} |`,
    );
  row(`PUT of one ${sizeLabel(m.hugeBytes)} object`, m.hugePut);
  row('GET of it', m.hugeGet);
  row(`${m.uploads} concurrent PUTs of ${sizeLabel(m.uploadBytes)}`, m.concurrentUploads);
  line();
}
