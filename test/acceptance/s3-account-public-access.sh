#!/usr/bin/env bash
# The account-level Block Public Access with the real AWS CLI (`aws s3control ... --account-id`):
# unset answers NoSuchPublicAccessBlockConfiguration, put/get/delete round-trip, another account's
# id is AccessDenied, and the account's settings hold for every bucket the account owns
# (docs/s3.md#account-level-block-public-access).
source "$(dirname "$0")/lib.sh"
lf_start

ACCOUNT=000000000000
# The CLI sends S3 Control calls to <account>.<endpoint host> (the model's host prefix): with
# http://localhost:<port> that is 000000000000.localhost, which systemd-resolved and other RFC 6761
# resolvers answer with loopback. This machine's resolver may not, so the CLI runs with *.localhost
# resolved to 127.0.0.1 as they would.
awsc() {
  python3 - --endpoint-url "http://localhost:${LF_ENDPOINT##*:}" "$@" <<'PY'
import socket, sys
resolve = socket.getaddrinfo
def loopback(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return resolve(host, *args, **kwargs)
socket.getaddrinfo = loopback
from awscli.clidriver import main
sys.exit(main())
PY
}

expect_error NoSuchPublicAccessBlockConfiguration awsc s3control get-public-access-block --account-id "$ACCOUNT"
awsc s3control put-public-access-block --account-id "$ACCOUNT" \
  --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=false
expect_eq "$(awsc s3control get-public-access-block --account-id "$ACCOUNT" --query 'PublicAccessBlockConfiguration.[BlockPublicAcls,IgnorePublicAcls,BlockPublicPolicy,RestrictPublicBuckets]' --output text)" \
  "True	True	True	False" "put-public-access-block then get-public-access-block"

# another account's id, and a caller of another account
expect_error AccessDenied awsc s3control get-public-access-block --account-id 111111111111
expect_error AccessDenied awsc s3control delete-public-access-block --account-id 111111111111
awsc_other() { AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=test awsc "$@"; }
expect_error AccessDenied awsc_other s3control put-public-access-block --account-id "$ACCOUNT" --public-access-block-configuration BlockPublicAcls=false
expect_error NoSuchPublicAccessBlockConfiguration awsc_other s3control get-public-access-block --account-id 111111111111

# enforced on a bucket whose own settings are all off
awsl s3api create-bucket --bucket acct-open --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
awsl s3api delete-public-access-block --bucket acct-open
POLICY='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acct-open/*"}]}'
expect_error AccessDenied awsl s3api put-bucket-policy --bucket acct-open --policy "$POLICY"
awsc s3control delete-public-access-block --account-id "$ACCOUNT"
expect_error NoSuchPublicAccessBlockConfiguration awsc s3control get-public-access-block --account-id "$ACCOUNT"
awsl s3api put-bucket-policy --bucket acct-open --policy "$POLICY"
echo "ok - a public policy is refused while the account blocks it, allowed once the account's block is deleted"

# CloudTrail names the calls as AWS does
expect_eq "$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=PutAccountPublicAccessBlock --query 'Events[0].EventSource' --output text)" \
  s3.amazonaws.com "CloudTrail records PutAccountPublicAccessBlock from s3.amazonaws.com"

# kept across a restart
awsc s3control put-public-access-block --account-id "$ACCOUNT" --public-access-block-configuration RestrictPublicBuckets=true
lf_stop
lf_start
expect_eq "$(awsc s3control get-public-access-block --account-id "$ACCOUNT" --query 'PublicAccessBlockConfiguration.RestrictPublicBuckets' --output text)" True "kept across a restart"
