#!/usr/bin/env bash
# Federated identities and services acting for the caller, with the real AWS CLI: an OIDC
# provider for a local issuer (a loopback process serving its discovery document and JWKS), a CI
# role assumed with a signed token (unsigned call), a refused subject, the web identity in
# LookupEvents; GetFederationToken; ECS's service-linked role created with the first cluster;
# a key policy that allows DescribeKey only through ECS (kms:ViaService).
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

echo "# a local OIDC issuer"
(cd "$ROOT" && exec node --import tsx test/support/oidc-issuer-cli.ts "$WORK/issuer.json" "repo:acme/app:ref:refs/heads/main" "repo:evil/app:ref:refs/heads/main") >"$WORK/issuer.log" 2>&1 &
ISSUER_PID=$!
trap 'kill "$ISSUER_PID" 2>/dev/null || true; lf_cleanup' EXIT
poll test -s "$WORK/issuer.json" || true
[ -s "$WORK/issuer.json" ] || { cat "$WORK/issuer.log"; fail "the issuer did not start"; }
ISSUER="$(jq -r .url "$WORK/issuer.json")"
HOST="$(jq -r .host "$WORK/issuer.json")"
GOOD="$(jq -r '.tokens["repo:acme/app:ref:refs/heads/main"]' "$WORK/issuer.json")"
EVIL="$(jq -r '.tokens["repo:evil/app:ref:refs/heads/main"]' "$WORK/issuer.json")"

echo "# the OIDC provider and the CI role"
PARN="$(awsl iam create-open-id-connect-provider --url "$ISSUER" --client-id-list sts.amazonaws.com --query OpenIDConnectProviderArn --output text)"
expect_eq "$PARN" "arn:aws:iam::$A:oidc-provider/$HOST" "provider ARN is the URL without its scheme"
expect_error InvalidInput awsl iam create-open-id-connect-provider --url http://token.example.com --client-id-list sts.amazonaws.com
jq -n --arg p "$PARN" --arg h "$HOST" '{Version:"2012-10-17",Statement:[{Effect:"Allow",Principal:{Federated:$p},Action:"sts:AssumeRoleWithWebIdentity",
  Condition:{StringEquals:{($h+":aud"):"sts.amazonaws.com"},StringLike:{($h+":sub"):"repo:acme/app:*"}}}]}' >"$WORK/trust.json"
awsl iam create-role --role-name ci --assume-role-policy-document "file://$WORK/trust.json" >/dev/null
awsl iam put-role-policy --role-name ci --policy-name kms --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}'

echo "# assume-role-with-web-identity (the CLI sends it unsigned)"
creds="$(awsl sts assume-role-with-web-identity --role-arn "arn:aws:iam::$A:role/ci" --role-session-name run-1 --web-identity-token "$GOOD")"
expect_eq "$(jq -r .AssumedRoleUser.Arn <<<"$creds")" "arn:aws:sts::$A:assumed-role/ci/run-1" "the session's ARN"
expect_eq "$(jq -r .SubjectFromWebIdentityToken <<<"$creds")" "repo:acme/app:ref:refs/heads/main" "the token's subject"
as_ci() {
  AWS_ACCESS_KEY_ID="$(jq -r .Credentials.AccessKeyId <<<"$creds")" AWS_SECRET_ACCESS_KEY="$(jq -r .Credentials.SecretAccessKey <<<"$creds")" \
    AWS_SESSION_TOKEN="$(jq -r .Credentials.SessionToken <<<"$creds")" awsl "$@"
}
expect_eq "$(as_ci sts get-caller-identity --query Arn --output text)" "arn:aws:sts::$A:assumed-role/ci/run-1" "the session signs as the role"
as_ci kms list-keys >/dev/null
expect_error AccessDenied awsl sts assume-role-with-web-identity --role-arn "arn:aws:iam::$A:role/ci" --role-session-name run-2 --web-identity-token "$EVIL"
# a signature with its first character changed (the last one may only carry padding bits)
SIG="${GOOD##*.}"
if [ "${SIG:0:1}" = A ]; then FLIP=B; else FLIP=A; fi
expect_error InvalidIdentityToken awsl sts assume-role-with-web-identity --role-arn "arn:aws:iam::$A:role/ci" --role-session-name run-3 --web-identity-token "${GOOD%.*}.$FLIP${SIG:1}"
ev="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=AssumeRoleWithWebIdentity --query 'Events[].CloudTrailEvent' --output json)"
expect_eq "$(jq -r '[.[] | fromjson | select(.errorCode == null) | .userIdentity.type] | unique | join(",")' <<<"$ev")" "WebIdentityUser" "LookupEvents shows the web identity"

echo "# get-federation-token"
awsl iam create-user --user-name broker >/dev/null
awsl iam put-user-policy --user-name broker --policy-name p --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetFederationToken","kms:ListKeys"],"Resource":"*"}]}'
bk="$(awsl iam create-access-key --user-name broker)"
fed="$(AWS_ACCESS_KEY_ID="$(jq -r .AccessKey.AccessKeyId <<<"$bk")" AWS_SECRET_ACCESS_KEY="$(jq -r .AccessKey.SecretAccessKey <<<"$bk")" \
  awsl sts get-federation-token --name bob --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}]}')"
expect_eq "$(jq -r .FederatedUser.Arn <<<"$fed")" "arn:aws:sts::$A:federated-user/bob" "the federated user's ARN"
as_bob() {
  AWS_ACCESS_KEY_ID="$(jq -r .Credentials.AccessKeyId <<<"$fed")" AWS_SECRET_ACCESS_KEY="$(jq -r .Credentials.SecretAccessKey <<<"$fed")" \
    AWS_SESSION_TOKEN="$(jq -r .Credentials.SessionToken <<<"$fed")" awsl "$@"
}
expect_eq "$(as_bob sts get-caller-identity --query Arn --output text)" "arn:aws:sts::$A:federated-user/bob" "bob signs as the federated user"
expect_error AccessDeniedException as_bob kms create-key

echo "# ECS's service-linked role and a key DescribeKey may use only through ECS"
jq -n --arg a "$A" '{Version:"2012-10-17",Statement:[
  {Sid:"Admin",Effect:"Allow",Principal:{AWS:("arn:aws:iam::"+$a+":root")},NotAction:"kms:DescribeKey",Resource:"*"},
  {Sid:"DescribeThroughEcs",Effect:"Allow",Principal:{AWS:("arn:aws:iam::"+$a+":root")},Action:"kms:DescribeKey",Resource:"*",Condition:{StringEquals:{"kms:ViaService":"ecs.us-east-1.amazonaws.com"}}},
  {Effect:"Allow",Principal:{Service:"fargate.amazonaws.com"},Action:["kms:GenerateDataKeyWithoutPlaintext","kms:CreateGrant"],Resource:"*"}]}' >"$WORK/key.json"
KEY="$(awsl kms create-key --policy "file://$WORK/key.json" --query KeyMetadata.Arn --output text)"
expect_error AccessDeniedException awsl kms describe-key --key-id "$KEY"
awsl ecs create-cluster --cluster-name fed --configuration "managedStorageConfiguration={fargateEphemeralStorageKmsKeyId=$KEY}" >/dev/null
echo "ok - create-cluster checks the key through ECS"
expect_eq "$(awsl iam get-role --role-name AWSServiceRoleForECS --query Role.Path --output text)" "/aws-service-role/ecs.amazonaws.com/" "the first cluster created AWSServiceRoleForECS"
expect_error InvalidInput awsl iam create-service-linked-role --aws-service-name ecs.amazonaws.com
expect_error UnmodifiableEntity awsl iam delete-role --role-name AWSServiceRoleForECS
dk="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=DescribeKey --query 'Events[].CloudTrailEvent' --output json)"
expect_eq "$(jq -r '[.[] | fromjson | select(.errorCode == null) | .userIdentity.invokedBy + "/" + .sourceIPAddress] | unique | join(",")' <<<"$dk")" \
  "ecs.amazonaws.com/ecs.amazonaws.com" "ECS's DescribeKey is recorded as invoked by ECS"
echo "PASS federation.sh"
