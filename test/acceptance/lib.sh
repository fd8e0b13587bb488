# Shared helpers for acceptance scripts: start a localfargate on a free port with a temp data
# dir, point the AWS CLI at it, stop it on exit. Source this file; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LF_DATA="$(mktemp -d /tmp/lf-accept-XXXXXX)"
# set by lf_start from the port the server bound (port 0: no other process can take it in between)
LF_PORT=""
export LF_ENDPOINT=""
# image pulls never leave this machine (docs/ecs-fargate.md#images)
export LOCALFARGATE_REGISTRY_PULLS="${LOCALFARGATE_REGISTRY_PULLS:-loopback}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-west-2}" AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN
LF_LOG="$LF_DATA/server.log"

# Waits are bounded in wall-clock seconds, not in tries: a loaded machine makes each try slower
# and the thing waited for later, and gets as long as an idle one.
LF_WAIT_SECONDS="${LF_WAIT_SECONDS:-120}"

# poll CMD...: runs CMD every 0.1 s until it succeeds; returns 1 if it has not after LF_WAIT_SECONDS.
poll() {
  local end=$((SECONDS + LF_WAIT_SECONDS))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

# The server names the port it bound on its first line; ready once its health answers there.
lf_ready() {
  if ! kill -0 "$LF_PID" 2>/dev/null; then cat "$LF_LOG" >&2; echo "server exited" >&2; exit 1; fi
  local url
  url="$(sed -n 's|^localfargate listening on \(http://[^ ]*\) .*|\1|p' "$LF_LOG" | head -1)"
  [ -n "$url" ] || return 1
  LF_ENDPOINT="$url" LF_PORT="${url##*:}"
  curl -fsS "$LF_ENDPOINT/_localfargate/health" >/dev/null 2>&1
}

# lf_start [FLAG...]: starts (or restarts) the server on a port of its own choosing
lf_start() {
  (cd "$ROOT" && exec node bin/localfargate.js start --port 0 --data-dir "$LF_DATA/data" --storage-driver "${LF_STORAGE_DRIVER:-plain}" --container-runtime "${LF_CONTAINER_RUNTIME:-host}" "$@") >"$LF_LOG" 2>&1 &
  LF_PID=$!
  poll lf_ready || { cat "$LF_LOG" >&2; echo "server did not become ready in ${LF_WAIT_SECONDS} s" >&2; exit 1; }
}

lf_stop() {
  if [ -n "${LF_PID:-}" ] && kill -0 "$LF_PID" 2>/dev/null; then
    kill "$LF_PID"; wait "$LF_PID" 2>/dev/null || true
  fi
}

lf_cleanup() { lf_stop; rm -rf "$LF_DATA"; }
trap lf_cleanup EXIT

awsl() { aws --endpoint-url "$LF_ENDPOINT" "$@"; }

fail() { echo "FAIL: $*" >&2; echo "--- server log ---" >&2; tail -50 "$LF_LOG" >&2; exit 1; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; echo "ok - $3"; }

# expect_error CODE CMD...: runs an aws command that must fail with the given error code
expect_error() {
  local code="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then fail "expected $code from: $*"; fi
  echo "$out" | grep -q "($code)" || fail "expected $code from: $* — got: $out"
  echo "ok - $code from ${*:2:3}"
}

lf_advance() { curl -fsS -X POST "$LF_ENDPOINT/_localfargate/clock" -d "{\"advanceSeconds\": $1}" >/dev/null; }
