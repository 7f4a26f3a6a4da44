export { readKeyringDirectory, WatchedKeyring } from './keyring/keyring-directory.js';
export { openProxyKeySources } from './keys/proxy-key-sources.js';
export type { ProxyKeySources } from './keys/proxy-key-sources.js';
export type { KeyringWatchOptions } from './keyring/keyring-directory.js';
export { loadConfig, ConfigError } from './config.js';
export type { ProxyConfig } from './config.js';
export { startProxy } from './proxy.js';
export type { RunningProxy } from './proxy.js';
export { PROXY_NODE_FLAGS } from './node-flags.js';
