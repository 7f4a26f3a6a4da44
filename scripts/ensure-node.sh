#!/usr/bin/env bash
# Prints a directory holding Node 24 `node` and a pinned `npm`, installing them when needed.
#
# The machines ship an end-of-life Node 20; the project pins Node 24 LTS and takes it from
# the npm registry's `node` package (which carries the official binary), so nothing is
# downloaded from anywhere but the registry. npm is pinned too: npm 11's `npm ci` insists that
# the lockfile lists optional binaries for every platform, and the registry these machines use
# does not serve all of them (e.g. @swc/core-darwin-arm64), so npm 11 refuses a lockfile that
# npm 10 installs exactly. Idempotent: a warm run only checks two version strings.
set -euo pipefail

NODE_VERSION="${S3SEAL_NODE_VERSION:-24.21.0}"
NPM_VERSION="${S3SEAL_NPM_VERSION:-10.9.9}"
CACHE_DIR="${S3SEAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/s3seal}"
PREFIX="$CACHE_DIR/node-v$NODE_VERSION-npm-$NPM_VERSION"
BIN_DIR="$PREFIX/node_modules/.bin"

version_of() { "$1" --version 2>/dev/null | sed 's/^v//' || true; }

if [ "$(version_of "$BIN_DIR/node")" != "$NODE_VERSION" ] || [ "$(PATH="$BIN_DIR:$PATH" version_of "$BIN_DIR/npm")" != "$NPM_VERSION" ]; then
  echo "ensure-node: installing node@$NODE_VERSION and npm@$NPM_VERSION from the npm registry into $PREFIX" >&2
  mkdir -p "$PREFIX"
  # The node package's preinstall step links the platform binary package.
  npm install --silent --no-audit --no-fund --no-save --prefix "$PREFIX" "node@$NODE_VERSION" "npm@$NPM_VERSION" >&2
fi
echo "$BIN_DIR"
