#!/usr/bin/env bash
# The front door against browsers and bad control input, with the real AWS CLI and curl: the CLI
# (no Origin) works through 127.0.0.1 and localhost; a foreign Origin, a cross-site fetch and a
# DNS-rebinding Host are refused with 403 and change nothing; a configured origin gets CORS; an
# out-of-range clock advance is a 400 and the server stays healthy.
source "$(dirname "$0")/lib.sh"
lf_start --allowed-origin http://localhost:3000

expect_eq "$(awsl sts get-caller-identity --query Account --output text)" 000000000000 "the CLI works (no Origin)"
expect_eq "$(aws --endpoint-url "http://localhost:${LF_PORT}" kms list-keys --query 'length(Keys)' --output text)" 0 "the CLI works through localhost"

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
clock() { curl -fsS "$LF_ENDPOINT/_localfargate/clock"; }
before="$(clock)"

expect_eq "$(status -X POST -H 'Origin: http://evil.example' -H 'Content-Type: text/plain' -d '{"advanceSeconds": 86400}' "$LF_ENDPOINT/_localfargate/clock")" 403 \
  "a cross-site text/plain POST to the clock is refused"
expect_eq "$(status -H 'Sec-Fetch-Site: cross-site' "$LF_ENDPOINT/_localfargate/health")" 403 "a cross-site fetch without Origin is refused"
expect_eq "$(status --resolve "evil.example:${LF_PORT}:127.0.0.1" -X POST -d '{"advanceSeconds": 86400}' "http://evil.example:${LF_PORT}/_localfargate/clock")" 403 \
  "a DNS-rebinding Host is refused"
body="$(curl -s -H 'Origin: http://evil.example' -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: TrentService.ListKeys' -d '{}' "$LF_ENDPOINT/")"
expect_eq "$(echo "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["__type"])')" AccessDeniedException "an API call from a foreign origin is AccessDeniedException"
now_after="$(clock)"
[ "${before:0:16}" = "${now_after:0:16}" ] || fail "the service clock moved: $before → $now_after"
echo "ok - nothing changed"

pre="$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST' "$LF_ENDPOINT/")"
echo "$pre" | head -1 | grep -q ' 403' || fail "foreign preflight: $pre"
if echo "$pre" | grep -qi '^access-control-'; then fail "foreign preflight carried CORS headers: $pre"; fi
echo "ok - a foreign preflight is 403 with no CORS headers"
pre="$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization,x-amz-target' "$LF_ENDPOINT/")"
echo "$pre" | grep -qi '^access-control-allow-origin: http://localhost:3000' || fail "allowed preflight: $pre"
echo "ok - the configured origin's preflight is answered"

expect_eq "$(status -X POST -d '{"advanceSeconds": 1e15}' "$LF_ENDPOINT/_localfargate/clock")" 400 "advanceSeconds 1e15 is a 400"
expect_eq "$(status -X POST -d '{"advanceSeconds": -1}' "$LF_ENDPOINT/_localfargate/clock")" 400 "a negative advance is a 400"
if out="$(cd "$ROOT" && node bin/localfargate.js clock advance 40000d --endpoint "$LF_ENDPOINT" 2>&1)"; then fail "clock advance 40000d succeeded: $out"; fi
echo "$out" | grep -q "at most 3155760000" || fail "clock advance 40000d said: $out"
echo "ok - localfargate clock advance refuses more than 100 years with the server's reason"
expect_eq "$(status "$LF_ENDPOINT/_localfargate/health")" 200 "health stays 200"
expect_eq "$(awsl sts get-caller-identity --query Account --output text)" 000000000000 "calls still work"
expect_eq "$(status -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: TrentService.constructor' -d '{}' "$LF_ENDPOINT/")" 400 \
  "X-Amz-Target TrentService.constructor is a 400"
