import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from '@jest/globals';

const execFileAsync = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(repo, 'packages/cli/dist/main.js');

describe('s3seal k8s-demo (make k8s-demo)', () => {
  it('shows a Ready policy in kubectl get and a pod stored with the proxy injected', async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`make build\` (make test does)`);
    const { stdout } = await execFileAsync(process.execPath, [cli, 'k8s-demo', '--repo', repo], {
      cwd: repo,
      maxBuffer: 16 << 20,
      timeout: 110_000,
    });
    expect(stdout).toMatch(
      /NAMESPACE\s+NAME\s+READY\s+KEY\s+BUCKETS\s+MULTIPART\s+AGE\ndemo\s+backups\s+True\s+v1\s+\["pg-backups","loki-\*"\]\s+encrypt/,
    );
    expect(stdout).toMatch(/backups-kek\s+s3seal\.io\/keyring\s+2/);
    const injected = stdout.slice(stdout.indexOf('the pod as stored'));
    expect(injected).toContain('name: s3seal-proxy');
    expect(injected).toContain('restartPolicy: Always');
    expect(injected).toContain('value: http://127.0.0.1:8080');
  });
});
