#!/usr/bin/env bash
# Builds one deployable package of this repository and installs it, with its production
# dependencies only, into a self-contained directory: what an image ships.
#
#   scripts/prod-install.sh <proxy|operator> <outdir>
#
# Dockerfile.proxy and Dockerfile.operator run this script in their build stage, and
# packages/proxy/test/integration/production-install.test.ts runs it on the host, so the image
# and the test cannot drift. Precondition: the source tree's dependencies are installed
# (`npm ci`, for tsc); Node 24 and npm 10 are on PATH (scripts/ensure-node.sh).
#
# <outdir> gets, and nothing else:
#   package.json            the root manifest, narrowed to the workspaces shipped
#   package-lock.json       the repository's lockfile, as `npm ci` used it
#   packages/<ws>/          package.json and dist/*.js of <package> and the @s3seal packages it
#                           depends on (core): no sources, tests, declarations or source maps
#   node_modules/           production dependencies, exact versions from the lockfile
set -euo pipefail

usage() {
  echo "usage: $0 <package> <outdir>   (package: a directory under packages/, e.g. proxy or operator)" >&2
  exit 2
}
[ $# -eq 2 ] || usage
pkg="$1"
out="$2"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fail() {
  echo "prod-install: $*" >&2
  exit 1
}

[ -f "packages/$pkg/package.json" ] || fail "packages/$pkg/package.json not found"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
npm_major="$(npm --version | cut -d. -f1)"
[ "$node_major" = 24 ] || fail "Node 24 is required, found $(node --version)"
# npm 10, as scripts/ensure-node.sh pins it: the lockfile is written by npm 10, and npm 11's
# `npm ci` judges it differently (see that script).
[ "$npm_major" = 10 ] || fail "npm 10 is required, found npm $(npm --version)"
[ -x node_modules/.bin/tsc ] || fail "node_modules/.bin/tsc is missing: run \`npm ci\` in $root first"

# The workspaces shipped: <package> and, transitively, the @s3seal packages in its
# `dependencies` (devDependencies such as @s3seal/testkit are never followed).
# shellcheck disable=SC2016 # JavaScript in single quotes, not shell
closure_text="$(
  node --input-type=module -e '
    import { readdirSync, readFileSync } from "node:fs";
    const dirOf = new Map();
    for (const dir of readdirSync("packages")) {
      try {
        dirOf.set(JSON.parse(readFileSync(`packages/${dir}/package.json`, "utf8")).name, dir);
      } catch (err) {
        if (err.code !== "ENOENT" && err.code !== "ENOTDIR") throw err;
      }
    }
    const order = [];
    const visit = (dir) => {
      if (order.includes(dir)) return;
      const manifest = JSON.parse(readFileSync(`packages/${dir}/package.json`, "utf8"));
      for (const dep of Object.keys(manifest.dependencies ?? {}))
        if (dirOf.has(dep)) visit(dirOf.get(dep));
      order.push(dir);
    };
    visit(process.argv[1]);
    console.log(order.join(" "));
  ' "$pkg"
)"
read -ra closure <<<"$closure_text"
closure_dirs=("${closure[@]/#/packages/}")
ws_name="$(node -p 'require(process.argv[1]).name' "$root/packages/$pkg/package.json")"
echo "prod-install: $ws_name into $out (workspaces: ${closure[*]})" >&2

# 1. Compile. tsc -b follows the project references (core), and is a no-op when up to date. (It
#    does not delete the output of a deleted source file: a long-lived tree may ship such a
#    stray .js; the image builds from a clean tree.)
node_modules/.bin/tsc -b "${closure_dirs[@]}"

# 2. Lay out the install directory: the lockfile and every workspace manifest (npm ci checks the
#    lockfile against all of them), each without devDependencies. Dropping them is what keeps
#    dev-only workspaces out: @s3seal/testkit is a workspace, so the lockfile cannot mark it or
#    its dependencies (testcontainers) dev, and `--omit=dev` alone would install them.
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then fail "$out exists and is not empty"; fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cp package-lock.json "$out/"
write_manifest() { # <source package.json> <target package.json> [workspaces...]
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    const [from, to, ...workspaces] = process.argv.slice(1);
    const manifest = JSON.parse(readFileSync(from, "utf8"));
    delete manifest.devDependencies;
    delete manifest.scripts;
    if (workspaces.length > 0) manifest.workspaces = workspaces;
    writeFileSync(to, JSON.stringify(manifest, null, 2) + "\n");
  ' "$@"
}
write_manifest package.json "$out/package.json"
for manifest in packages/*/package.json; do
  mkdir -p "$out/$(dirname "$manifest")"
  write_manifest "$manifest" "$out/$manifest"
done
for ws in "${closure[@]}"; do
  (cd "packages/$ws" && find dist -type f -name '*.js' -exec cp --parents -t "$out/packages/$ws" {} +)
  [ -f "$out/packages/$ws/dist/index.js" ] || [ -f "$out/packages/$ws/dist/main.js" ] ||
    fail "packages/$ws/dist has no index.js or main.js after the build"
done

# 3. Install: exact versions from the lockfile, only <package>'s production dependency tree, no
#    root devDependencies (jest, typescript), and no install scripts: no production dependency
#    has one (checked below), and a dependency that gains one is reviewed, not run unseen.
(cd "$out" && npm ci --omit=dev --workspace="$ws_name" --include-workspace-root=false \
  --ignore-scripts --no-audit --no-fund --prefer-offline)
scripted="$(node -p '
  const { packages } = require(process.argv[1]);
  Object.keys(packages).filter((path) => packages[path].hasInstallScript).join(" ")
' "$out/node_modules/.package-lock.json")"
[ -z "$scripted" ] ||
  fail "these production dependencies have install scripts, which --ignore-scripts skipped: $scripted"

# 4. Narrow the directory to what ships: drop the other workspaces' manifests and list only
#    the shipped workspaces in the root manifest, so `npm ls` checks the tree exactly: a missing
#    dependency or an extraneous (dev-only) package fails the install here, not at run time.
for manifest in "$out"/packages/*/package.json; do
  ws="$(basename "$(dirname "$manifest")")"
  case " ${closure[*]} " in *" $ws "*) ;; *) rm -r "${out:?}/packages/$ws" ;; esac
done
write_manifest "$out/package.json" "$out/package.json" "${closure_dirs[@]}"
(cd "$out" && npm ls --all --omit=dev >/dev/null) ||
  fail "the installed tree is not exactly the production dependencies (see \`npm ls --all\` in $out)"
for link in "$out"/node_modules/@s3seal/*; do
  case " ${closure[*]} " in *" $(basename "$link") "*) ;; *) fail "unexpected workspace in node_modules: $link" ;; esac
done
echo "prod-install: done: node $out/packages/$pkg/dist/main.js" >&2
