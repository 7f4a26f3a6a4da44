#!/usr/bin/env bash
# Prints the directory holding a Node 24 `node` binary, installing it when needed.
#
# The machines ship an end-of-life Node 20; the project pins Node 24 LTS and takes it from
# the npm registry's `node` package (which carries the official binary), so no download from
# anywhere but the registry is needed. Idempotent: a warm run only checks a version string.
set -euo pipefail

NODE_VERSION="${S3SEAL_NODE_VERSION:-24.21.0}"
NODE_MAJOR="${NODE_VERSION%%.*}"
CACHE_DIR="${S3SEAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/s3seal}"
PREFIX="$CACHE_DIR/node-v$NODE_VERSION"
BIN_DIR="$PREFIX/node_modules/node/bin"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# A machine that already has Node 24 on PATH needs nothing.
if command -v node >/dev/null 2>&1 && [ "$(major_of node)" = "$NODE_MAJOR" ]; then
  dirname "$(command -v node)"
  exit 0
fi

if [ ! -x "$BIN_DIR/node" ] || [ "$(major_of "$BIN_DIR/node")" != "$NODE_MAJOR" ]; then
  echo "ensure-node: installing node@$NODE_VERSION from the npm registry into $PREFIX" >&2
  mkdir -p "$PREFIX"
  # --ignore-scripts=false: the package's preinstall step links the platform binary package.
  npm install --silent --no-audit --no-fund --no-save --prefix "$PREFIX" "node@$NODE_VERSION" >&2
fi
echo "$BIN_DIR"
