import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startVault, type VaultServer } from '@s3seal/testkit';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('startVault', () => {
  let vault: VaultServer;

  beforeAll(async () => {
    vault = await startVault();
  });

  afterAll(async () => {
    await vault?.stop();
  });

  async function encrypt(key: string, body: Record<string, unknown>): Promise<string> {
    const res = await vault.request('POST', `${vault.mount}/encrypt/${key}`, body);
    expect(res.status).toBe(200);
    return res.body!.data!.ciphertext as string;
  }

  it('serves the transit engine at its mount with the root token', async () => {
    expect(vault.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await vault.request('GET', 'sys/mounts');
    expect(res.status).toBe(200);
    expect(res.body!.data![`${vault.mount}/`]).toMatchObject({ type: 'transit' });
  });

  it('encrypts and decrypts with associated_data on an aes256-gcm96 key, bound to that data', async () => {
    await vault.createKey('aad', { type: 'aes256-gcm96' });
    const plaintext = b64('hello object key');
    const ciphertext = await encrypt('aad', { plaintext, associated_data: b64('bucket/key') });
    expect(ciphertext).toMatch(/^vault:v1:/);

    const ok = await vault.request('POST', `${vault.mount}/decrypt/aad`, {
      ciphertext,
      associated_data: b64('bucket/key'),
    });
    expect(ok.status).toBe(200);
    expect(ok.body!.data!.plaintext).toBe(plaintext);

    for (const ad of [b64('bucket/other'), undefined]) {
      const bad = await vault.request('POST', `${vault.mount}/decrypt/aad`, {
        ciphertext,
        associated_data: ad,
      });
      expect(bad.status).toBe(400);
      expect(bad.body!.errors!.join()).toMatch(/message authentication failed/);
    }
  });

  it('rotates a key: new ciphertexts are vault:v2, v1 ones still decrypt', async () => {
    await vault.createKey('rot');
    const v1 = await encrypt('rot', { plaintext: b64('one') });
    await vault.rotateKey('rot');
    const v2 = await encrypt('rot', { plaintext: b64('two') });
    expect(v1).toMatch(/^vault:v1:/);
    expect(v2).toMatch(/^vault:v2:/);
    const res = await vault.request('POST', `${vault.mount}/decrypt/rot`, { ciphertext: v1 });
    expect(res.body!.data!.plaintext).toBe(b64('one'));

    const rewrapped = await vault.request('POST', `${vault.mount}/rewrap/rot`, { ciphertext: v1 });
    expect(rewrapped.status).toBe(200);
    expect(rewrapped.body!.data!.ciphertext).toMatch(/^vault:v2:/);
  });

  // Vault 1.21.4's rewrap has no associated_data parameter (builtin/logical/transit/path_rewrap.go:
  // not in the path's Fields, and no AssocDataFactory in the decrypt/encrypt it runs), so it
  // cannot rewrap a ciphertext bound to associated data: a key provider must decrypt + encrypt.
  it('refuses to rewrap a ciphertext made with associated_data (rewrap ignores the parameter)', async () => {
    await vault.createKey('aad-rot');
    const ad = b64('bucket/key');
    const v1 = await encrypt('aad-rot', { plaintext: b64('secret'), associated_data: ad });
    await vault.rotateKey('aad-rot');

    const res = await vault.request('POST', `${vault.mount}/rewrap/aad-rot`, {
      ciphertext: v1,
      associated_data: ad,
    });
    expect(res.status).toBe(400);
    expect(res.body!.errors!.join()).toMatch(/message authentication failed/);

    const batch = await vault.request('POST', `${vault.mount}/rewrap/aad-rot`, {
      batch_input: [{ ciphertext: v1, associated_data: ad }],
    });
    // A batch answers 200 with the error on the item.
    expect(batch.status).toBe(200);
    const results = batch.body!.data!.batch_results as { error?: string }[];
    expect(results[0]!.error).toMatch(/message authentication failed/);
  });

  it('encrypts, decrypts and rewraps with a derived key and a context', async () => {
    await vault.createKey('derived', { derived: true });
    const context = b64('tenant-a');
    const missing = await vault.request('POST', `${vault.mount}/encrypt/derived`, { plaintext: b64('x') });
    expect(missing.status).toBe(400);

    const v1 = await encrypt('derived', { plaintext: b64('x'), context });
    const wrong = await vault.request('POST', `${vault.mount}/decrypt/derived`, {
      ciphertext: v1,
      context: b64('tenant-b'),
    });
    expect(wrong.status).toBe(400);

    await vault.rotateKey('derived');
    const rewrapped = await vault.request('POST', `${vault.mount}/rewrap/derived`, {
      ciphertext: v1,
      context,
    });
    expect(rewrapped.status).toBe(200);
    const v2 = rewrapped.body!.data!.ciphertext as string;
    expect(v2).toMatch(/^vault:v2:/);
    const back = await vault.request('POST', `${vault.mount}/decrypt/derived`, { ciphertext: v2, context });
    expect(back.body!.data!.plaintext).toBe(b64('x'));
  });

  it('gives a token with the transit policy encrypt/decrypt, and one without it 403', async () => {
    await vault.createKey('scoped');
    const token = await vault.createToken();
    const enc = await vault.request(
      'POST',
      `${vault.mount}/encrypt/scoped`,
      { plaintext: b64('p') },
      { token },
    );
    expect(enc.status).toBe(200);
    const dec = await vault.request(
      'POST',
      `${vault.mount}/decrypt/scoped`,
      { ciphertext: enc.body!.data!.ciphertext },
      { token },
    );
    expect(dec.body!.data!.plaintext).toBe(b64('p'));
    // The transit policy reads keys but does not create or rotate them.
    expect((await vault.request('POST', `${vault.mount}/keys/scoped/rotate`, {}, { token })).status).toBe(
      403,
    );

    const bare = await vault.createToken([]);
    const denied = await vault.request(
      'POST',
      `${vault.mount}/encrypt/scoped`,
      { plaintext: b64('p') },
      {
        token: bare,
      },
    );
    expect(denied.status).toBe(403);
    expect(denied.body!.errors!.join()).toMatch(/permission denied/);
  });

  it('pauses, resumes and restarts on the same address', async () => {
    vault.pause();
    const stalled = await fetch(`${vault.address}/v1/sys/health`, { signal: AbortSignal.timeout(500) }).then(
      () => 'answered',
      (err: Error) => err.name,
    );
    expect(stalled).toBe('TimeoutError');
    vault.resume();
    expect((await vault.request('GET', 'sys/health')).status).toBe(200);

    const pid = vault.pid;
    await vault.kill();
    await expect(vault.request('GET', 'sys/health')).rejects.toThrow();
    await vault.restart();
    expect(vault.pid).not.toBe(pid);
    expect((await vault.request('GET', 'sys/health')).status).toBe(200);
    // A fresh in-memory server: the transit mount is back, the keys are not.
    expect((await vault.request('GET', `${vault.mount}/keys/rot`)).status).toBe(404);
    await vault.createKey('rot');
    expect(await encrypt('rot', { plaintext: b64('again') })).toMatch(/^vault:v1:/);
  });
});
