/**
 * The node flags the proxy runs with in production (Dockerfile.proxy's ENTRYPOINT, the bench's
 * proxy process, the operator test's sidecar). `--max-semi-space-size=1` (MiB): with V8's default
 * young generation, streaming 64 KiB Buffers through the proxy triggered a full GC every ~64 MB
 * moved; a small semi-space lets scavenges reclaim them instead.
 */
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
