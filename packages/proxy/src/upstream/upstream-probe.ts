import { Agent } from 'undici';
import type { DependencyCheck } from '../health-server.js';

export interface UpstreamProbeOptions {
  readonly endpoint: URL;
  /** Extra CAs for an https upstream (upstream-trust.ts), as the S3 traffic uses them. */
  readonly ca?: readonly string[] | undefined;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

/**
 * Whether the backend answers, for /readyz: a HEAD of the endpoint every few seconds. Any HTTP
 * answer counts, 403 included (the probe is not signed: reaching the S3 service is the
 * question, not being allowed in); a refused connection, a TLS failure or no answer within the
 * timeout does not. Its own one-connection pool, so a full S3 pool never fails the probe.
 */
export class UpstreamProbe {
  private state: DependencyCheck = { ok: false, detail: 'not probed yet' };
  private readonly agent: Agent;
  private readonly timer: NodeJS.Timeout;
  private isProbing = false;
  private readonly timeoutMs: number;

  constructor(private readonly options: UpstreamProbeOptions) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.agent = new Agent({
      connections: 1,
      keepAliveTimeout: 10_000,
      connectTimeout: this.timeoutMs,
      ...(options.ca ? { connect: { ca: [...options.ca] } } : {}),
    });
    this.timer = setInterval(() => void this.probe(), options.intervalMs ?? 3000);
    this.timer.unref();
    void this.probe();
  }

  check(): DependencyCheck {
    return this.state;
  }

  /** Probes now (unless one is under way); resolves with the result. */
  async probe(): Promise<DependencyCheck> {
    if (this.isProbing) return this.state;
    this.isProbing = true;
    try {
      const res = await this.agent.request({
        origin: this.options.endpoint.origin,
        path: this.options.endpoint.pathname,
        method: 'HEAD',
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body.dump();
      this.state = { ok: true, detail: `HTTP ${res.statusCode}` };
    } catch (err: unknown) {
      const code = (err as { code?: unknown }).code;
      this.state = { ok: false, detail: typeof code === 'string' ? code : (err as Error).name };
    } finally {
      this.isProbing = false;
    }
    return this.state;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.agent.destroy();
  }
}
