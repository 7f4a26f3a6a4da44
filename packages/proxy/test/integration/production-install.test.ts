// The production install the images ship, checked without Docker: scripts/prod-install.sh (the
// very script Dockerfile.proxy and Dockerfile.operator run in their build stage) installs each
// binary into a temp directory, which is then made read-only, as the containers' root filesystem
// is, and the binary is started from there: the proxy in front of a real MinIO, the operator
// with --help.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { assertCiphertextAtRest, freePort, startMinio } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const INSTALL_TIMEOUT_MS = 240_000;

/** Packages only development needs: none may be in an image (the workspace ones included). */
const DEV_ONLY = [
  'jest',
  'typescript',
  '@swc/core',
  '@swc/jest',
  'testcontainers',
  'fast-check',
  'eslint',
  'prettier',
  '@s3seal/testkit',
  '@s3seal/bench',
  '@s3seal/cli',
];

/**
 * The environment of the install: the caller's, with this test's node first on PATH, less the
 * `npm_*` variables a parent `npm run` sets (a workspace or prefix of the caller's must not leak
 * into the install).
 */
function installEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('npm_')) env[name] = value;
  env['PATH'] = `${dirname(process.execPath)}:${process.env['PATH'] ?? '/usr/bin:/bin'}`;
  return env;
}

/** Runs a command to its end; a failure carries everything it printed. */
async function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await promisify(execFile)(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? installEnv(),
      timeout: options.timeoutMs ?? INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err: unknown) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${String(err)}\n${stdout ?? ''}\n${stderr ?? ''}`, {
      cause: err,
    });
  }
}

/** scripts/prod-install.sh <pkg> into a fresh directory under `root`, then `chmod -R a-w` it. */
async function prodInstall(pkg: string, root: string): Promise<string> {
  const outDir = join(root, pkg);
  await run('bash', [join(REPO_ROOT, 'scripts/prod-install.sh'), pkg, outDir], { cwd: REPO_ROOT });
  await run('chmod', ['-R', 'a-w', outDir], { cwd: root });
  return outDir;
}

/** Undoes the `chmod -R a-w` so the temp directory can be removed. */
async function removeInstall(root: string | undefined): Promise<void> {
  if (root === undefined) return;
  await run('chmod', ['-R', 'u+w', root], { cwd: tmpdir() });
  await rm(root, { recursive: true, force: true });
}

/** Every package in a node_modules tree by name, nested node_modules included. */
async function installedPackages(nodeModules: string): Promise<Set<string>> {
  const names = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    if (!existsSync(dir)) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const isScope = entry.name.startsWith('@');
      const children = isScope ? await readdir(join(dir, entry.name)) : [entry.name];
      for (const child of children) {
        const name = isScope ? `${entry.name}/${child}` : child;
        names.add(name);
        await walk(join(dir, name, 'node_modules'));
      }
    }
  };
  await walk(nodeModules);
  return names;
}

/** The dev-only packages found anywhere in an install (its own node_modules and the workspaces'). */
async function devPackagesIn(outDir: string, extra: readonly string[]): Promise<string[]> {
  const found = await installedPackages(join(outDir, 'node_modules'));
  for (const ws of await readdir(join(outDir, 'packages')))
    for (const name of await installedPackages(join(outDir, 'packages', ws, 'node_modules'))) found.add(name);
  return [...DEV_ONLY, ...extra].filter((name) => found.has(name));
}

/** Path, size and mtime of every file and directory under `dir`: compared after a run to see it wrote nothing. */
async function snapshot(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const info = await stat(path).catch((err: unknown) => {
        // A dangling symlink stays a dangling symlink; anything else is a real failure.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      });
      lines.push(`${relative(dir, path)} ${info?.size ?? '-'} ${info?.mtimeMs ?? '-'}`);
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return lines.sort();
}

interface ProxyProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function spawnProxy(outDir: string, args: readonly string[], env: Record<string, string>): ProxyProcess {
  const child = spawn(process.execPath, [join(outDir, 'packages/proxy/dist/main.js'), ...args], {
    cwd: outDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Polls /readyz as the sidecar's startup probe does; fails at once if the process exits. */
async function waitForReady(proxy: ProxyProcess, url: string, timeoutMs = 30_000): Promise<void> {
  let hasExited = false;
  void proxy.exited.then(() => (hasExited = true));
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`the proxy exited at start:\n${proxy.output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err: unknown) {
      last = String(err);
    }
    await sleep(100);
  }
  throw new Error(`${url} never answered 200 (last: ${last}):\n${proxy.output()}`);
}

describe('the proxy, installed for production', () => {
  let root: string | undefined;
  let outDir: string;
  let minio: MinioServer | undefined;
  let proxy: ProxyProcess | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 's3seal-prod-proxy-'));
    // MinIO starts while npm installs; assigned either way, so afterAll stops it.
    const minioStarted = startMinio().then((server) => (minio = server));
    try {
      outDir = await prodInstall('proxy', root);
    } finally {
      await minioStarted;
    }
  }, INSTALL_TIMEOUT_MS);

  afterAll(async () => {
    if (proxy && proxy.child.exitCode === null) {
      proxy.child.kill('SIGKILL');
      await proxy.exited;
    }
    await minio?.stop();
    await removeInstall(root);
  });

  it('holds the proxy, core, key-providers and their production dependencies, and nothing for development', async () => {
    expect((await readdir(join(outDir, 'packages'))).sort()).toEqual(['core', 'key-providers', 'proxy']);
    expect((await readdir(join(outDir, 'node_modules/@s3seal'))).sort()).toEqual([
      'core',
      'key-providers',
      'proxy',
    ]);
    expect(existsSync(join(outDir, 'package-lock.json'))).toBe(true);
    // Compiled JavaScript only: no sources, tests or declarations.
    expect(existsSync(join(outDir, 'packages/proxy/src'))).toBe(false);
    expect(existsSync(join(outDir, 'packages/proxy/dist/main.d.ts'))).toBe(false);
    // The proxy's own devDependencies and what only the rig needs.
    expect(await devPackagesIn(outDir, ['minio', '@aws-sdk/lib-storage', '@aws-sdk/client-s3'])).toEqual([]);
    const installed = await installedPackages(join(outDir, 'node_modules'));
    for (const dependency of [
      'ioredis',
      'undici',
      'aws4',
      'pino',
      'yargs',
      'yaml',
      'fast-xml-parser',
      '@aws-sdk/client-kms',
    ])
      expect([...installed]).toContain(dependency);
  });

  it('starts from the read-only directory with a config file, as the sidecar does, and stores ciphertext', async () => {
    // The sidecar's layout: a config file and a keyring directory, both mounted read-only, and
    // the upstream key pair in the environment. HOME and TMPDIR name a directory that does not
    // exist, so a write there fails loudly (the container has nowhere to write either).
    const mounts = join(root!, 'mounts');
    const kekDir = join(mounts, 'kek');
    await mkdir(kekDir, { recursive: true });
    await writeFile(join(kekDir, 'v1'), randomBytes(32).toString('base64'));
    await writeFile(join(kekDir, 'active'), 'v1');
    const [port, metricsPort] = [await freePort(), await freePort()];
    const configFile = join(mounts, 'proxy.yaml');
    await writeFile(
      configFile,
      [
        `listen: 127.0.0.1:${port}`,
        `metricsListen: 127.0.0.1:${metricsPort}`,
        `upstream: ${minio!.endpoint}`,
        `kekDir: ${kekDir}`,
        'logLevel: info',
        '',
      ].join('\n'),
    );
    await run('chmod', ['-R', 'a-w', mounts], { cwd: root! });
    const nowhere = join(root!, 'nowhere');
    const before = await snapshot(outDir);

    // Running as root (as on this project's machines), the mode bits alone would not stop a
    // write: the snapshot comparison below is what proves nothing was written.
    proxy = spawnProxy(outDir, ['--config', configFile], {
      PATH: '/usr/bin:/bin',
      HOME: nowhere,
      TMPDIR: nowhere,
      NODE_ENV: 'production',
      AWS_ACCESS_KEY_ID: minio!.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio!.secretAccessKey,
    });
    await waitForReady(proxy, `http://127.0.0.1:${metricsPort}/readyz`);

    const credentials = { accessKeyId: minio!.accessKeyId, secretAccessKey: minio!.secretAccessKey };
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
    });
    const raw = new S3Client({
      endpoint: minio!.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
    });
    try {
      const bucket = `prod-${randomBytes(4).toString('hex')}`;
      await raw.send(new CreateBucketCommand({ Bucket: bucket }));
      const plaintext = Buffer.from('sealed by the production install of s3seal-proxy; '.repeat(2048));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'prod/object', Body: plaintext }));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'prod/object' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(plaintext)).toBe(true);
      await assertCiphertextAtRest(raw, bucket, 'prod/object', plaintext);
    } finally {
      client.destroy();
      raw.destroy();
    }

    // SIGTERM, as the kubelet stops the container: the proxy closes and exits 0.
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    expect(await snapshot(outDir)).toEqual(before);
    expect(existsSync(nowhere)).toBe(false);
  });
});

describe('the operator, installed for production', () => {
  let root: string | undefined;
  let outDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 's3seal-prod-operator-'));
    outDir = await prodInstall('operator', root);
  }, INSTALL_TIMEOUT_MS);

  afterAll(async () => {
    await removeInstall(root);
  });

  it('holds the operator, core and their production dependencies, and nothing for development', async () => {
    expect((await readdir(join(outDir, 'packages'))).sort()).toEqual(['core', 'key-providers', 'operator']);
    expect((await readdir(join(outDir, 'node_modules/@s3seal'))).sort()).toEqual([
      'core',
      'key-providers',
      'operator',
    ]);
    // The operator's devDependencies: the rig, and the proxy its end-to-end test runs.
    expect(await devPackagesIn(outDir, ['@s3seal/proxy'])).toEqual([]);
    const installed = await installedPackages(join(outDir, 'node_modules'));
    for (const dependency of ['@kubernetes/client-node', '@peculiar/x509', 'pino', 'yargs', 'yaml'])
      expect([...installed]).toContain(dependency);
  });

  it('runs from the read-only directory: --help prints the usage and exits 0', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(outDir, 'packages/operator/dist/main.js'), '--help'],
      {
        cwd: outDir,
        env: { PATH: '/usr/bin:/bin', HOME: join(root!, 'nowhere'), NODE_ENV: 'production' },
        timeoutMs: 30_000,
      },
    );
    expect(stdout).toContain('s3seal-operator [options]');
    expect(stdout).toContain('--sidecar-image');
  });
});
