import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the installed kubectl against a kubeconfig; never throws on a non-zero exit. */
export async function kubectl(
  kubeconfigPath: string,
  args: readonly string[],
  stdin?: string,
): Promise<KubectlResult> {
  const run = execFileAsync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { maxBuffer: 16 << 20 });
  if (stdin !== undefined) {
    run.child.stdin?.end(stdin);
  }
  try {
    const { stdout, stderr } = await run;
    return { stdout, stderr, code: 0 };
  } catch (err: unknown) {
    const failure = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: failure.stdout ?? '', stderr: failure.stderr ?? '', code: failure.code ?? 1 };
  }
}

/** kubectl that must succeed. */
export async function kubectlOk(
  kubeconfigPath: string,
  args: readonly string[],
  stdin?: string,
): Promise<string> {
  const result = await kubectl(kubeconfigPath, args, stdin);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}
