# Shared helpers for acceptance scripts: start a localfargate on a free port with a temp data
# dir, point the AWS CLI at it, stop it on exit. Source this file; do not run it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LF_DATA="$(mktemp -d /tmp/lf-accept-XXXXXX)"
LF_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
export LF_ENDPOINT="http://127.0.0.1:${LF_PORT}"
# image pulls never leave this machine (docs/ecs-fargate.md#images)
export LOCALFARGATE_REGISTRY_PULLS="${LOCALFARGATE_REGISTRY_PULLS:-loopback}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-west-2}" AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN
LF_LOG="$LF_DATA/server.log"

lf_start() {
  (cd "$ROOT" && exec node bin/localfargate.js start --port "$LF_PORT" --data-dir "$LF_DATA/data" --storage-driver "${LF_STORAGE_DRIVER:-plain}" --container-runtime "${LF_CONTAINER_RUNTIME:-host}" "$@") >"$LF_LOG" 2>&1 &
  LF_PID=$!
  # health answers as soon as the server listens; the start-up lines follow once the container
  # runtime is probed (docs/server.md), and scripts read both
  for _ in $(seq 1 300); do
    if curl -fsS "$LF_ENDPOINT/_localfargate/health" >/dev/null 2>&1 && grep -q "^localfargate listening on" "$LF_LOG"; then return 0; fi
    if ! kill -0 "$LF_PID" 2>/dev/null; then cat "$LF_LOG" >&2; echo "server exited" >&2; exit 1; fi
    sleep 0.1
  done
  cat "$LF_LOG" >&2; echo "server did not become ready" >&2; exit 1
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
