export { readKeyringDirectory, WatchedKeyring } from './keyring/keyring-directory.js';
export type { KeyringWatchOptions } from './keyring/keyring-directory.js';
