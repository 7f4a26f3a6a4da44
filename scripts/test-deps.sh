#!/usr/bin/env bash
# Provision the real servers the s3seal integration tests run against.
#
#   minio, etcd, kube-apiserver  built from source with Go from the wrapper
#                                modules in deps/go/<name>/ (see deps/README.md)
#                                and cached in $S3SEAL_CACHE_DIR/bin/
#   redis-server                 Debian package (installed if missing; the
#                                system service is stopped: tests start their own)
#   kubectl                      only checked and reported
#   clients                      the S3 clients the proxy's client tests drive:
#                                rclone, s3cmd, restic (Debian packages, installed
#                                if missing), boto3 (pip, if `import boto3` fails)
#                                and the aws cli (only checked and reported)
#   vault                        HashiCorp Vault (Transit), built from source like
#                                minio; stands in for OpenBao (see deps/README.md)
#   moto                         moto[server] (moto_server: AWS KMS and friends) from
#                                PyPI, in a venv under $S3SEAL_CACHE_DIR/venv/
#   warp                         MinIO's S3 load generator, for `make bench` only
#                                (not in the default set)
#
# Idempotent: a binary is rebuilt only when $S3SEAL_CACHE_DIR/bin/<name>-<version>
# is missing or does not run. A warm run takes a couple of seconds.
#
# Usage: scripts/test-deps.sh [component...]   (default: all of them but warp)
#   components: minio etcd kube-apiserver vault moto redis kubectl clients warp
# Env:   S3SEAL_CACHE_DIR  (default ${XDG_CACHE_HOME:-$HOME/.cache}/s3seal)
set -euo pipefail

# ---- Pinned versions: the one place to bump them. ---------------------------
# Keep in sync with deps/go/*/go.mod (checked below before building).
MINIO_RELEASE="RELEASE.2025-10-15T17-29-55Z"
MINIO_COMMIT="9e49d5e7a648f00e26f2246f4dc28e6b07f8c84a"
MINIO_MODULE_VERSION="v0.0.0-20251015172955-9e49d5e7a648" # pseudo-version of MINIO_COMMIT
ETCD_VERSION="v3.6.16"
KUBE_VERSION="v1.34.4" # staging modules (k8s.io/api, ...) are replaced with v0.34.4
WARP_VERSION="v1.0.0" # the newest warp tag the module proxy here serves (see deps/README.md)
WARP_COMMIT="b3452c34f08a0c0055cd6d75bfae85dae18efccc"
VAULT_VERSION="v1.21.1" # HashiCorp Vault, standing in for OpenBao (see deps/README.md)
# "minimal": upstream's build with only the builtin plugins (transit, kv, pki, ssh;
# approle, cert, jwt, userpass auth): 139 MB, ~5 min cold. "" builds the full
# server (adds kubernetes auth and every other plugin): 361 MB, ~5 min more.
# deps/go/vault/go.sum covers both.
VAULT_BUILD_TAGS="minimal"
MOTO_VERSION="5.2.5"    # moto[server] from PyPI (its AWS KMS server mode), in a venv
# ------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO_DEPS="$ROOT/deps/go"
S3SEAL_CACHE_DIR="${S3SEAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/s3seal}"
BIN_DIR="$S3SEAL_CACHE_DIR/bin"

log() { printf '[test-deps] %s\n' "$*"; }
die() { printf '[test-deps] ERROR: %s\n' "$*" >&2; exit 1; }

declare -a SUMMARY=()
summary() { SUMMARY+=("$(printf '%-15s %-30s %s' "$1" "$2" "$3")"); }

# ---- Go builds ----------------------------------------------------------------

# The go.mod files are committed together with go.sum and built in the default
# -mod=readonly mode, so every module is checked against go.sum. sum.golang.org
# is not reachable from every machine, so the checksum database is not asked
# (it would only be asked about modules missing from go.sum, which readonly
# mode refuses anyway). GOTOOLCHAIN=local: never try to download a toolchain.
go_env() {
	env CGO_ENABLED=0 GOTOOLCHAIN=local GOSUMDB=off "$@"
}

find_go() {
	if command -v go >/dev/null 2>&1; then
		GO=go
	elif [[ -x /usr/local/go/bin/go ]]; then
		GO=/usr/local/go/bin/go
	else
		die "go not found (need Go >= 1.26 on PATH or at /usr/local/go/bin/go)"
	fi
}

# check_pin <module dir> <module path> <version>: the go.mod must require it.
check_pin() {
	local dir="$1" mod="$2" ver="$3"
	grep -Eq "^[[:space:]]*(require[[:space:]]+)?${mod//./\\.}[[:space:]]+${ver//./\\.}([[:space:]]|$)" "$dir/go.mod" ||
		die "$dir/go.mod does not require $mod $ver: keep it in sync with the pins at the top of $0"
}

# bin_ok <binary> <expected substring of its version output>
bin_ok() {
	local out
	[[ -x "$1" ]] || return 1
	out="$("$1" --version 2>&1)" || return 1
	[[ "$out" == *"$2"* ]]
}

# ensure_go_bin <name> <version> <wrapper dir> <package> <version marker> <ldflags>
# (build tags, if any, in $GO_BUILD_TAGS)
ensure_go_bin() {
	local name="$1" ver="$2" dir="$3" pkg="$4" marker="$5" ldflags="$6"
	local bin="$BIN_DIR/$name-$ver" start tmp
	if bin_ok "$bin" "$marker"; then
		log "found $name $ver at $bin"
		summary "$name" "$ver" "cached  $bin"
	else
		[[ -z "${GO:-}" ]] && find_go
		log "building $name $ver from $dir (cold: minutes)"
		start=$SECONDS
		tmp="$bin.tmp.$$"
		if ! (cd "$dir" && go_env "$GO" build -mod=readonly -buildvcs=false -trimpath -tags "${GO_BUILD_TAGS:-}" -ldflags "-s -w $ldflags" -o "$tmp" "$pkg"); then
			rm -f "$tmp"
			die "go build of $name $ver failed"
		fi
		mv -f "$tmp" "$bin"
		bin_ok "$bin" "$marker" || die "built $bin but '$bin --version' does not report $marker"
		log "built $name $ver in $((SECONDS - start)) s at $bin ($(du -h "$bin" | cut -f1))"
		summary "$name" "$ver" "built   $bin in $((SECONDS - start)) s"
	fi
	ln -sfn "$name-$ver" "$BIN_DIR/$name"
}

do_minio() {
	check_pin "$GO_DEPS/minio" github.com/minio/minio "$MINIO_MODULE_VERSION"
	# Same -X flags as minio's buildscripts/gen-ldflags.go, so `minio --version`
	# reports the release instead of DEVELOPMENT.GOGET.
	local v="${MINIO_RELEASE#RELEASE.}"                      # 2025-10-15T17-29-55Z
	local rfc="${v%%T*}T$(tr - : <<<"${v#*T}")"              # 2025-10-15T17:29:55Z
	local x=github.com/minio/minio/cmd
	ensure_go_bin minio "$MINIO_RELEASE" "$GO_DEPS/minio" github.com/minio/minio "$MINIO_RELEASE" \
		"-X $x.Version=$rfc -X $x.CopyrightYear=${v%%-*} -X $x.ReleaseTag=$MINIO_RELEASE -X $x.CommitID=$MINIO_COMMIT -X $x.ShortCommitID=${MINIO_COMMIT:0:12}"
}

do_etcd() {
	check_pin "$GO_DEPS/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
	# etcd's version is a constant in go.etcd.io/etcd/api/v3/version: no -X needed.
	ensure_go_bin etcd "$ETCD_VERSION" "$GO_DEPS/etcd" . "etcd Version: ${ETCD_VERSION#v}" ""
}

do_kube_apiserver() {
	check_pin "$GO_DEPS/kube-apiserver" k8s.io/kubernetes "$KUBE_VERSION"
	local minor="${KUBE_VERSION#v1.}"
	minor="${minor%%.*}"
	check_pin "$GO_DEPS/kube-apiserver" "k8s.io/api => k8s.io/api" "v0.${KUBE_VERSION#v1.}"
	# What hack/lib/version.sh sets (minus the commit), so --version is right.
	local ld="" p
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
	done
	ensure_go_bin kube-apiserver "$KUBE_VERSION" "$GO_DEPS/kube-apiserver" . "Kubernetes $KUBE_VERSION" "$ld"
}

do_vault() {
	check_pin "$GO_DEPS/vault" github.com/hashicorp/vault "$VAULT_VERSION"
	# Vault embeds its version from version/VERSION (a -X on version.Version is
	# ignored: it is not initialized to a constant), so no version flags are
	# needed. The versioned binary name says which build it is.
	local ver="$VAULT_VERSION${VAULT_BUILD_TAGS:+-$VAULT_BUILD_TAGS}"
	GO_BUILD_TAGS="$VAULT_BUILD_TAGS" ensure_go_bin vault "$ver" "$GO_DEPS/vault" github.com/hashicorp/vault "Vault $VAULT_VERSION" ""
}

do_warp() {
	check_pin "$GO_DEPS/warp" github.com/minio/warp "$WARP_VERSION"
	# The -X flags of warp's .goreleaser.yml, so `warp --version` reports the release.
	local x=github.com/minio/warp/pkg
	ensure_go_bin warp "$WARP_VERSION" "$GO_DEPS/warp" github.com/minio/warp "version ${WARP_VERSION#v} " \
		"-X $x.Version=${WARP_VERSION#v} -X $x.ReleaseTag=$WARP_VERSION -X $x.CommitID=$WARP_COMMIT -X $x.ShortCommitID=${WARP_COMMIT:0:12}"
}

# ---- Python venvs ----------------------------------------------------------------

# moto's server mode (`moto_server`) is the AWS KMS the key-provider tests talk
# to. It lives in its own venv under the cache dir, so it depends neither on
# the machine's site-packages nor on the moto/boto3 someone else installed.
# The venv is not relocatable (absolute shebangs), so it is created in place;
# the .s3seal-ok stamp is written only once moto[server] imports, so a broken
# half-install is removed and redone on the next run.
do_moto() {
	local venv="$S3SEAL_CACHE_DIR/venv/moto-$MOTO_VERSION" start py ver
	py="$venv/bin/python"
	if [[ -f "$venv/.s3seal-ok" && -x "$venv/bin/moto_server" ]] &&
		ver="$("$py" -c 'import importlib.metadata as m, flask; print(m.version("moto"))' 2>/dev/null)" &&
		[[ "$ver" == "$MOTO_VERSION" ]]; then
		log "found moto_server $MOTO_VERSION in $venv"
		summary moto_server "$MOTO_VERSION" "cached  $venv"
	else
		command -v python3 >/dev/null 2>&1 || die "python3 not found on PATH (moto_server needs it)"
		log "installing moto[server]==$MOTO_VERSION (pip, into $venv)"
		start=$SECONDS
		rm -rf "$venv"
		mkdir -p "$(dirname "$venv")"
		python3 -m venv "$venv" || die "python3 -m venv $venv failed (Debian: apt-get install python3-venv)"
		if ! "$py" -m pip install --quiet --disable-pip-version-check --no-input "moto[server]==$MOTO_VERSION"; then
			rm -rf "$venv"
			die "pip install moto[server]==$MOTO_VERSION failed"
		fi
		ver="$("$py" -c 'import importlib.metadata as m, flask; print(m.version("moto"))')" ||
			die "moto[server] not importable in $venv after pip install"
		[[ "$ver" == "$MOTO_VERSION" && -x "$venv/bin/moto_server" ]] ||
			die "$venv has moto $ver (want $MOTO_VERSION) or no bin/moto_server"
		touch "$venv/.s3seal-ok"
		log "installed moto_server $MOTO_VERSION in $((SECONDS - start)) s ($(du -sh "$venv" | cut -f1))"
		summary moto_server "$MOTO_VERSION" "pip     $venv in $((SECONDS - start)) s"
	fi
	ln -sfn "../venv/moto-$MOTO_VERSION/bin/moto_server" "$BIN_DIR/moto_server"
}

# ---- Debian packages / tools ---------------------------------------------------

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else die "need root (or sudo) to run: $*"
	fi
}

do_redis() {
	local path start
	if path="$(command -v redis-server)"; then
		log "found redis-server $(redis_version) at $path"
		summary redis-server "$(redis_version)" "present $path"
		return
	fi
	log "installing redis-server (Debian package)"
	start=$SECONDS
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null
	# The package may start the system instance; the tests run their own.
	as_root service redis-server stop >/dev/null 2>&1 || true
	as_root update-rc.d redis-server disable >/dev/null 2>&1 || true
	if [[ -d /run/systemd/system ]]; then
		as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
	fi
	path="$(command -v redis-server)" || die "redis-server still missing after apt-get install"
	log "installed redis-server $(redis_version) at $path in $((SECONDS - start)) s (system service stopped)"
	summary redis-server "$(redis_version)" "apt     $path"
}

redis_version() {
	redis-server --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p'
}

do_kubectl() {
	local path ver
	path="$(command -v kubectl)" || die "kubectl not found on PATH (expected at /usr/bin/kubectl)"
	ver="$(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p')"
	log "found kubectl ${ver:-?} at $path"
	summary kubectl "${ver:-?}" "present $path"
}

# First line of `<tool> <version args>`, trimmed to the version: "rclone v1.60.1-DEV" -> v1.60.1-DEV.
# (The whole output is read first: `| head -n 1` would SIGPIPE a chatty tool under pipefail.)
tool_version() {
	local out
	out="$("$@" 2>/dev/null)" || true
	sed -E 's/^(rclone|restic|s3cmd version|aws-cli\/)[[:space:]]*//; s/[[:space:]].*//' <<<"${out%%$'\n'*}"
}

CLIENT_DEBS=(rclone s3cmd restic)
declare -A CLIENT_VERSION_ARGS=([rclone]=version [s3cmd]=--version [restic]=version)

do_clients() {
	local missing=() name path start ver aws_out="$S3SEAL_CACHE_DIR/.aws-version.$$" aws_pid=""
	# `aws --version` is the slowest probe (about 0.5 s through a pyenv shim): run it meanwhile.
	if command -v aws >/dev/null 2>&1; then
		tool_version aws --version >"$aws_out" &
		aws_pid=$!
	fi
	for name in "${CLIENT_DEBS[@]}"; do
		command -v "$name" >/dev/null 2>&1 || missing+=("$name")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		log "installing ${missing[*]} (Debian packages)"
		start=$SECONDS
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
		log "installed ${missing[*]} in $((SECONDS - start)) s"
	fi
	for name in "${CLIENT_DEBS[@]}"; do
		path="$(command -v "$name")" || die "$name still missing after apt-get install"
		ver="$(tool_version "$name" "${CLIENT_VERSION_ARGS[$name]}")"
		if [[ " ${missing[*]} " == *" $name "* ]]; then
			log "installed $name ${ver:-?} at $path"
			summary "$name" "${ver:-?}" "apt     $path"
		else
			log "found $name ${ver:-?} at $path"
			summary "$name" "${ver:-?}" "present $path"
		fi
	done

	# boto3 for the python3 the tests run (`python3` on PATH), wherever it comes from.
	command -v python3 >/dev/null 2>&1 || die "python3 not found on PATH (boto3 tests need it)"
	if ver="$(python3 -c 'import boto3; print(boto3.__version__)' 2>/dev/null)"; then
		log "found boto3 $ver for $(command -v python3)"
		summary boto3 "$ver" "present $(command -v python3)"
	else
		log "installing boto3 (pip, for $(command -v python3))"
		start=$SECONDS
		python3 -m pip install --quiet boto3 ||
			die "python3 -m pip install boto3 failed (a Debian python3 refuses pip: install python3-boto3 instead)"
		ver="$(python3 -c 'import boto3; print(boto3.__version__)')" || die "boto3 still not importable after pip install"
		log "installed boto3 $ver in $((SECONDS - start)) s"
		summary boto3 "$ver" "pip     $(command -v python3)"
	fi

	[[ -n $aws_pid ]] || die "aws cli not found on PATH (pip install awscli, or the Debian package awscli)"
	wait "$aws_pid" || true
	path="$(command -v aws)"
	ver="$(<"$aws_out")"
	rm -f "$aws_out"
	log "found aws ${ver:-?} at $path"
	summary aws "${ver:-?}" "present $path"
}

# ---- main ---------------------------------------------------------------------

main() {
	local comps=("$@") c
	[[ ${#comps[@]} -gt 0 ]] || comps=(minio etcd kube-apiserver vault moto redis kubectl clients)
	mkdir -p "$BIN_DIR"

	# Serialize concurrent runs (they would build the same binaries).
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$S3SEAL_CACHE_DIR/.test-deps.lock"
		flock 9
	fi

	for c in "${comps[@]}"; do
		case "$c" in
		minio) do_minio ;;
		etcd) do_etcd ;;
		kube-apiserver) do_kube_apiserver ;;
		vault) do_vault ;;
		moto) do_moto ;;
		redis | redis-server) do_redis ;;
		kubectl) do_kubectl ;;
		clients) do_clients ;;
		warp) do_warp ;;
		*) die "unknown component '$c' (minio etcd kube-apiserver vault moto redis kubectl clients warp)" ;;
		esac
	done

	log "summary (binaries symlinked as $BIN_DIR/<name>):"
	printf '  %s\n' "${SUMMARY[@]}"
}

main "$@"
