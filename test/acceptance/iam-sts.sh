#!/usr/bin/env bash
# IAM and STS with the real AWS CLI: users, access keys, inline and managed policies, an IAM
# user denied and then allowed by its policies, a virtual MFA device and MFA sessions, roles and AssumeRole, session expiry on the
# service clock, the policy simulator, and a restart that keeps everything.
# Standalone: starts its own localfargate on a free port with a temporary data dir.
set -euo pipefail
export AWS_DEFAULT_REGION=us-east-1
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

A=000000000000
lf_start

WORK="$LF_DATA/work"
mkdir -p "$WORK"

echo "# users and access keys"
out="$(awsl iam create-user --user-name alice --path /eng/)"
expect_eq "$(jq -r .User.Arn <<<"$out")" "arn:aws:iam::$A:user/eng/alice" "create-user returns the ARN with its path"
jq -e '.User.UserId | test("^AIDA[A-Z0-9]{17}$")' <<<"$out" >/dev/null || fail "UserId is not AIDA + 17"
expect_error EntityAlreadyExists awsl iam create-user --user-name alice
expect_error NoSuchEntity awsl iam get-user --user-name nobody

key="$(awsl iam create-access-key --user-name alice)"
AK="$(jq -r .AccessKey.AccessKeyId <<<"$key")"
SK="$(jq -r .AccessKey.SecretAccessKey <<<"$key")"
[[ "$AK" =~ ^AKIA[A-Z0-9]{16}$ ]] || fail "access key id $AK"
expect_eq "${#SK}" "40" "secret access key has 40 characters"
as_alice() { AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" awsl "$@"; }

echo "# caller identity as root and as alice"
expect_eq "$(awsl sts get-caller-identity --query Arn --output text)" "arn:aws:iam::$A:root" "root's identity"
expect_eq "$(as_alice sts get-caller-identity --query Arn --output text)" "arn:aws:iam::$A:user/eng/alice" "alice's key signs as alice"

echo "# alice is denied until a policy allows"
err="$(as_alice iam list-users 2>&1 || true)"
grep -qF "An error occurred (AccessDenied) when calling the ListUsers operation: User: arn:aws:iam::$A:user/eng/alice is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::$A:user/ because no identity-based policy allows the iam:ListUsers action" <<<"$err" \
  || fail "AccessDenied message for list-users: $err"
echo "ok - AccessDenied with AWS's message"

cat >"$WORK/alice.json" <<'JSON'
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser"], "Resource": "*"},
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::000000000000:role/deployer"}
  ]
}
JSON
awsl iam put-user-policy --user-name alice --policy-name alice-inline --policy-document "file://$WORK/alice.json"
got="$(awsl iam get-user-policy --user-name alice --policy-name alice-inline)"
# The CLI decodes IAM's URL-encoded document back into JSON.
expect_eq "$(jq -cS .PolicyDocument <<<"$got")" "$(jq -cS . "$WORK/alice.json")" "get-user-policy returns the document as put"
expect_eq "$(as_alice iam list-users --query 'Users[?UserName==`alice`].UserName' --output text)" "alice" "alice may list users now"
expect_error AccessDenied as_alice iam list-roles

echo "# managed policies"
awsl iam attach-user-policy --user-name alice --policy-arn arn:aws:iam::aws:policy/IAMReadOnlyAccess
expect_eq "$(awsl iam list-attached-user-policies --user-name alice --query 'AttachedPolicies[0].PolicyName' --output text)" "IAMReadOnlyAccess" "attach-user-policy"
as_alice iam list-roles >/dev/null || fail "IAMReadOnlyAccess should allow list-roles"
echo "ok - an attached AWS managed policy takes effect"
cat >"$WORK/deny.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]}
JSON
parn="$(awsl iam create-policy --policy-name no-list-roles --policy-document "file://$WORK/deny.json" --query Policy.Arn --output text)"
expect_eq "$parn" "arn:aws:iam::$A:policy/no-list-roles" "create-policy"
awsl iam attach-user-policy --user-name alice --policy-arn "$parn"
err="$(as_alice iam list-roles 2>&1 || true)"
grep -qE "is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::$A:role/ with an explicit deny in an? identity-based policy" <<<"$err" || fail "explicit deny message: $err"
echo "ok - explicit deny"
awsl iam detach-user-policy --user-name alice --policy-arn "$parn"
expect_error DeleteConflict awsl iam delete-user --user-name alice

echo "# roles and AssumeRole"
cat >"$WORK/trust.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}
JSON
awsl iam create-role --role-name deployer --assume-role-policy-document "file://$WORK/trust.json" >/dev/null
expect_eq "$(awsl iam get-role --role-name deployer --query 'Role.AssumeRolePolicyDocument.Statement[0].Action' --output text)" "sts:AssumeRole" "get-role decodes the trust policy"
awsl iam put-role-policy --role-name deployer --policy-name ro --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}'
creds="$(as_alice sts assume-role --role-arn "arn:aws:iam::$A:role/deployer" --role-session-name ci --duration-seconds 900)"
SAK="$(jq -r .Credentials.AccessKeyId <<<"$creds")"
SSK="$(jq -r .Credentials.SecretAccessKey <<<"$creds")"
STOK="$(jq -r .Credentials.SessionToken <<<"$creds")"
[[ "$SAK" =~ ^ASIA[A-Z0-9]{16}$ ]] || fail "session key id $SAK"
expect_eq "$(jq -r .AssumedRoleUser.Arn <<<"$creds")" "arn:aws:sts::$A:assumed-role/deployer/ci" "assume-role AssumedRoleUser"
as_session() { AWS_ACCESS_KEY_ID="$SAK" AWS_SECRET_ACCESS_KEY="$SSK" AWS_SESSION_TOKEN="$STOK" awsl "$@"; }
expect_eq "$(as_session sts get-caller-identity --query Arn --output text)" "arn:aws:sts::$A:assumed-role/deployer/ci" "the session signs as the role session"
as_session iam list-roles >/dev/null || fail "the role's policy should allow list-roles"
echo "ok - the session has the role's permissions"
expect_error AccessDenied as_alice sts assume-role --role-arn "arn:aws:iam::$A:role/missing" --role-session-name xx
expect_error ValidationError as_alice sts assume-role --role-arn "arn:aws:iam::$A:role/deployer" --role-session-name xx --duration-seconds 7200
err="$(awsl sts assume-role --role-arn "arn:aws:iam::$A:role/deployer" --role-session-name root 2>&1 || true)"
grep -qF "An error occurred (AccessDenied) when calling the AssumeRole operation: Roles may not be assumed by root accounts." <<<"$err" || fail "root assume-role: $err"
echo "ok - root cannot assume a role"

echo "# a session policy narrows the session"
narrow="$(as_alice sts assume-role --role-arn "arn:aws:iam::$A:role/deployer" --role-session-name narrow \
  --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}')"
[ "$(jq -r .PackedPolicySize <<<"$narrow")" -gt 0 ] || fail "PackedPolicySize"
as_narrow() { AWS_ACCESS_KEY_ID="$(jq -r .Credentials.AccessKeyId <<<"$narrow")" AWS_SECRET_ACCESS_KEY="$(jq -r .Credentials.SecretAccessKey <<<"$narrow")" AWS_SESSION_TOKEN="$(jq -r .Credentials.SessionToken <<<"$narrow")" awsl "$@"; }
as_narrow iam list-users >/dev/null || fail "the session policy allows list-users"
err="$(as_narrow iam list-roles 2>&1 || true)"
grep -qF "because no session policy allows the iam:ListRoles action" <<<"$err" || fail "session policy denial: $err"
echo "ok - session policy narrows"

echo "# virtual MFA: a device enabled for alice, codes verified by GetSessionToken on the service clock"
# RFC 6238 code of a Base32 seed at a 30-second step, and the step the service clock is in
totp_at() { python3 -c 'import base64,hashlib,hmac,struct,sys; h=hmac.new(base64.b32decode(sys.argv[1]),struct.pack(">Q",int(sys.argv[2])),hashlib.sha1).digest(); o=h[-1]&15; print("%06d"%((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$1" "$2"; }
server_step() { curl -fsS "$LF_ENDPOINT/_localfargate/clock" | jq -r '.now | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 / 30 | floor'; }
mfa="$(awsl iam create-virtual-mfa-device --virtual-mfa-device-name alice --outfile "$WORK/alice-seed.txt" --bootstrap-method Base32StringSeed)"
SERIAL="$(jq -r .VirtualMFADevice.SerialNumber <<<"$mfa")"
expect_eq "$SERIAL" "arn:aws:iam::$A:mfa/alice" "create-virtual-mfa-device serial number"
SEED="$(cat "$WORK/alice-seed.txt")"
[[ "$SEED" =~ ^[A-Z2-7]{64}$ ]] || fail "Base32 seed written by --outfile: $SEED"
awsl iam create-virtual-mfa-device --virtual-mfa-device-name spare --outfile "$WORK/spare.png" --bootstrap-method QRCodePNG >/dev/null
expect_eq "$(head -c 8 "$WORK/spare.png" | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a" "the QR code file is a PNG"
now="$(server_step)"
expect_error InvalidAuthenticationCode awsl iam enable-mfa-device --user-name alice --serial-number "$SERIAL" \
  --authentication-code1 "$(totp_at "$SEED" "$now")" --authentication-code2 "$(totp_at "$SEED" "$now")"
awsl iam enable-mfa-device --user-name alice --serial-number "$SERIAL" \
  --authentication-code1 "$(totp_at "$SEED" $((now - 1)))" --authentication-code2 "$(totp_at "$SEED" "$now")"
expect_eq "$(awsl iam list-mfa-devices --user-name alice --query 'MFADevices[0].SerialNumber' --output text)" "$SERIAL" "list-mfa-devices"
expect_eq "$(awsl iam list-virtual-mfa-devices --assignment-status Unassigned --query 'VirtualMFADevices[].SerialNumber' --output text)" "arn:aws:iam::$A:mfa/spare" "list-virtual-mfa-devices Unassigned"
expect_error AccessDenied as_alice sts get-session-token --serial-number "$SERIAL" --token-code 000000
code="$(totp_at "$SEED" $(($(server_step) + 1)))"
mfa_session="$(as_alice sts get-session-token --serial-number "$SERIAL" --token-code "$code")"
expect_eq "$(AWS_ACCESS_KEY_ID="$(jq -r .Credentials.AccessKeyId <<<"$mfa_session")" AWS_SECRET_ACCESS_KEY="$(jq -r .Credentials.SecretAccessKey <<<"$mfa_session")" \
  AWS_SESSION_TOKEN="$(jq -r .Credentials.SessionToken <<<"$mfa_session")" awsl iam get-user --query User.UserName --output text)" "alice" "an MFA session can call IAM"
err="$(as_alice sts get-session-token --serial-number "$SERIAL" --token-code "$code" 2>&1 || true)"
grep -qF "MultiFactorAuthentication failed with invalid MFA one time pass code." <<<"$err" || fail "a code is accepted once: $err"
echo "ok - a used code is refused"
expect_error DeleteConflict awsl iam delete-virtual-mfa-device --serial-number "$SERIAL"

echo "# the policy simulator"
sim="$(awsl iam simulate-principal-policy --policy-source-arn "arn:aws:iam::$A:user/eng/alice" --action-names iam:ListUsers iam:CreateUser)"
expect_eq "$(jq -r '[.EvaluationResults[] | .EvalActionName + "=" + .EvalDecision] | join(",")' <<<"$sim")" "iam:ListUsers=allowed,iam:CreateUser=implicitDeny" "simulate-principal-policy"
expect_eq "$(jq -r '.EvaluationResults[0].MatchedStatements[0].SourcePolicyId' <<<"$sim")" "alice-inline" "simulate names the matching policy"

echo "# the session expires on the service clock"
lf_advance 901
expect_error ExpiredToken as_session sts get-caller-identity

echo "# a restart keeps users, policies, keys and roles"
lf_stop
lf_start
expect_eq "$(as_alice sts get-caller-identity --query Arn --output text)" "arn:aws:iam::$A:user/eng/alice" "alice's key still signs after a restart"
expect_eq "$(as_alice iam list-users --query 'length(Users)' --output text)" "1" "alice's policies still apply after a restart"
expect_eq "$(awsl iam get-user-policy --user-name alice --policy-name alice-inline | jq -cS .PolicyDocument)" "$(jq -cS . "$WORK/alice.json")" "inline policy after a restart"
expect_eq "$(awsl iam list-roles --query 'Roles[].RoleName' --output text)" "deployer" "role after a restart"
expect_eq "$(awsl iam list-mfa-devices --user-name alice --query 'MFADevices[0].SerialNumber' --output text)" "$SERIAL" "MFA device after a restart"

echo "# alice changes her own console password"
awsl iam create-login-profile --user-name alice --password 'Alice-Console-1' --password-reset-required >/dev/null
expect_error AccessDenied as_alice iam change-password --old-password 'Alice-Console-1' --new-password 'Alice-Console-2'
awsl iam update-account-password-policy --allow-users-to-change-password --password-reuse-prevention 1
expect_error AccessDenied as_alice iam change-password --old-password 'Not-Her-Password-1' --new-password 'Alice-Console-2'
as_alice iam change-password --old-password 'Alice-Console-1' --new-password 'Alice-Console-2'
expect_eq "$(awsl iam get-login-profile --user-name alice --query LoginProfile.PasswordResetRequired --output text)" "False" "change-password clears PasswordResetRequired"
expect_error PasswordPolicyViolation as_alice iam change-password --old-password 'Alice-Console-2' --new-password 'Alice-Console-2'
expect_error InvalidUserType awsl iam change-password --old-password 'Root-Console-1' --new-password 'Root-Console-2'
awsl iam delete-account-password-policy
awsl iam delete-login-profile --user-name alice

echo "# clean up"
awsl iam delete-role-policy --role-name deployer --policy-name ro
awsl iam delete-role --role-name deployer
awsl iam detach-user-policy --user-name alice --policy-arn arn:aws:iam::aws:policy/IAMReadOnlyAccess
awsl iam delete-user-policy --user-name alice --policy-name alice-inline
awsl iam deactivate-mfa-device --user-name alice --serial-number "$SERIAL"
awsl iam delete-virtual-mfa-device --serial-number "$SERIAL"
awsl iam delete-virtual-mfa-device --serial-number "arn:aws:iam::$A:mfa/spare"
expect_eq "$(awsl iam list-virtual-mfa-devices --query 'length(VirtualMFADevices)' --output text)" "0" "MFA devices deleted"
awsl iam delete-access-key --user-name alice --access-key-id "$AK"
awsl iam delete-policy --policy-arn "$parn"
awsl iam delete-user --user-name alice
expect_eq "$(awsl iam list-users --query 'length(Users)' --output text)" "0" "everything deleted"
echo "PASS iam-sts.sh"
