#!/usr/bin/env bash
# CloudTrail with the real AWS CLI: event history, an S3 bucket, a trail with log file validation,
# delivery on the service clock, `aws cloudtrail validate-logs` (all valid), then a tampered log
# file and a tampered digest that validate-logs reports.
source "$(dirname "$0")/lib.sh"
lf_start

# validate-logs passes --endpoint-url to its CloudTrail client only; its S3 client reads this.
export AWS_ENDPOINT_URL="$LF_ENDPOINT"
REGION="$AWS_DEFAULT_REGION"
ACCOUNT=000000000000
BUCKET=acceptance-trail-logs
WORK="$LF_DATA/work"
mkdir -p "$WORK"
service_now() { curl -fsS "$LF_ENDPOINT/_localfargate/clock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["now"])'; }

# --- event history ---------------------------------------------------------------------------
awsl sts get-caller-identity >/dev/null
expect_eq "$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetCallerIdentity --query 'length(Events)' --output text)" 1 \
  "lookup-events finds the GetCallerIdentity call"
expect_eq "$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetCallerIdentity --query 'Events[0].Username' --output text)" root \
  "the root user's Username is root"
identity="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=Username,AttributeValue=root --max-results 1 --query 'Events[0].CloudTrailEvent' --output text |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["userIdentity"]["type"], r["userIdentity"]["arn"], r["eventVersion"])')"
expect_eq "$identity" "Root arn:aws:iam::$ACCOUNT:root 1.08" "CloudTrailEvent is the full record"
expect_error InvalidLookupAttributesException awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=a AttributeKey=Username,AttributeValue=b

# --- bucket and trail ------------------------------------------------------------------------
awsl s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
expect_eq "$(awsl s3api get-bucket-location --bucket "$BUCKET" --query LocationConstraint --output text)" "$REGION" "bucket location"
# a trail's bucket must let CloudTrail write (InsufficientS3BucketPolicyException otherwise)
expect_error InsufficientS3BucketPolicyException awsl cloudtrail create-trail --name nopolicy --s3-bucket-name "$BUCKET"
cat >"$WORK/bucket-policy.json" <<POLICY
{"Version":"2012-10-17","Statement":[
 {"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::$BUCKET"},
 {"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::$BUCKET/AWSLogs/$ACCOUNT/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}
POLICY
awsl s3api put-bucket-policy --bucket "$BUCKET" --policy "file://$WORK/bucket-policy.json"
expect_eq "$(awsl s3api get-bucket-policy --bucket "$BUCKET" --query Policy --output text | python3 -c 'import json,sys; print(json.load(sys.stdin)["Statement"][1]["Sid"])')" AWSCloudTrailWrite "get-bucket-policy"
expect_error S3BucketDoesNotExistException awsl cloudtrail create-trail --name nobucket --s3-bucket-name missing-bucket-name
expect_error InvalidTrailNameException awsl cloudtrail create-trail --name=bad- --s3-bucket-name "$BUCKET"

START="$(service_now)"
ARN="$(awsl cloudtrail create-trail --name audit --s3-bucket-name "$BUCKET" --enable-log-file-validation --query TrailARN --output text)"
expect_eq "$ARN" "arn:aws:cloudtrail:$REGION:$ACCOUNT:trail/audit" "create-trail answers the trail ARN"
expect_error TrailAlreadyExistsException awsl cloudtrail create-trail --name audit --s3-bucket-name "$BUCKET"
awsl cloudtrail start-logging --name audit
expect_eq "$(awsl cloudtrail get-trail-status --name audit --query IsLogging --output text)" True "the trail is logging"

# --- calls, then delivery on the service clock -----------------------------------------------
for _ in 1 2 3; do awsl sts get-caller-identity >/dev/null; done
awsl cloudtrail describe-trails >/dev/null
lf_advance 600
LOG_KEYS="$(awsl s3api list-objects --bucket "$BUCKET" --prefix "AWSLogs/$ACCOUNT/CloudTrail/$REGION/" --query 'Contents[].Key' --output text)"
FIRST_LOG="$(echo "$LOG_KEYS" | tr '\t' '\n' | head -1)"
[[ "$FIRST_LOG" =~ ^AWSLogs/$ACCOUNT/CloudTrail/$REGION/[0-9]{4}/[0-9]{2}/[0-9]{2}/${ACCOUNT}_CloudTrail_${REGION}_[0-9]{8}T[0-9]{4}Z_[A-Za-z0-9]{16}\.json\.gz$ ]] ||
  fail "log file key layout: $FIRST_LOG"
echo "ok - log file delivered: $FIRST_LOG"
aws s3api get-object --bucket "$BUCKET" --key "$FIRST_LOG" "$WORK/log.json.gz" >/dev/null
calls="$(gunzip -c "$WORK/log.json.gz" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["Records"] if r["eventName"] == "GetCallerIdentity"))')"
expect_eq "$calls" 3 "the log file holds the three GetCallerIdentity records"

lf_advance 3600
awsl sts get-caller-identity >/dev/null
lf_advance 3600
DIGESTS="$(awsl s3api list-objects --bucket "$BUCKET" --prefix "AWSLogs/$ACCOUNT/CloudTrail-Digest/$REGION/" --query 'length(Contents)' --output text)"
expect_eq "$DIGESTS" 2 "two hourly digest files"
expect_eq "$(awsl cloudtrail list-public-keys --query 'length(PublicKeyList)' --output text)" 1 "list-public-keys returns the region's key"
END="$(service_now)"

# --- validate-logs: everything valid ---------------------------------------------------------
out="$(aws cloudtrail validate-logs --trail-arn "$ARN" --start-time "$START" --end-time "$END" 2>&1)" || fail "validate-logs failed: $out"
echo "$out" | grep -q "2/2 digest files valid" || fail "digests not all valid: $out"
echo "$out" | grep -Eq "([0-9]+)/\1 log files valid" || fail "log files not all valid: $out"
echo "ok - validate-logs: $(echo "$out" | grep -E 'files valid' | tr '\n' ' ')"

# --- a tampered log file ---------------------------------------------------------------------
gunzip -c "$WORK/log.json.gz" | sed 's/GetCallerIdentity/GetCallerIdentitx/' | gzip -c >"$WORK/tampered.json.gz"
aws s3api put-object --bucket "$BUCKET" --key "$FIRST_LOG" --body "$WORK/tampered.json.gz" >/dev/null
if out="$(aws cloudtrail validate-logs --trail-arn "$ARN" --start-time "$START" --end-time "$END" 2>&1)"; then
  fail "validate-logs accepted a tampered log file: $out"
fi
echo "$out" | grep -q "s3://$BUCKET/$FIRST_LOG	INVALID: hash value doesn't match" || fail "tampered log not reported: $out"
echo "$out" | grep -Eq "1/[0-9]+ log files INVALID" || fail "summary does not count the invalid log: $out"
echo "ok - validate-logs reports the tampered log file"
aws s3api put-object --bucket "$BUCKET" --key "$FIRST_LOG" --body "$WORK/log.json.gz" >/dev/null

# --- a tampered digest file ------------------------------------------------------------------
DIGEST_KEY="$(awsl s3api list-objects --bucket "$BUCKET" --prefix "AWSLogs/$ACCOUNT/CloudTrail-Digest/$REGION/" --query 'Contents[0].Key' --output text)"
aws s3api get-object --bucket "$BUCKET" --key "$DIGEST_KEY" "$WORK/digest.json.gz" >"$WORK/digest-head.json"
SIG="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Metadata"]["signature"])' "$WORK/digest-head.json")"
gunzip -c "$WORK/digest.json.gz" | sed 's/"logFiles"/"logFiles" /' | gzip -c >"$WORK/digest-tampered.json.gz"
aws s3api put-object --bucket "$BUCKET" --key "$DIGEST_KEY" --body "$WORK/digest-tampered.json.gz" \
  --metadata "signature=$SIG,signature-algorithm=SHA256withRSA" >/dev/null
if out="$(aws cloudtrail validate-logs --trail-arn "$ARN" --start-time "$START" --end-time "$END" 2>&1)"; then
  fail "validate-logs accepted a tampered digest: $out"
fi
echo "$out" | grep -q "INVALID: signature verification failed" || fail "tampered digest not reported: $out"
echo "ok - validate-logs reports the tampered digest file"

# --- stop logging: a final digest ------------------------------------------------------------
awsl cloudtrail stop-logging --name audit
expect_eq "$(awsl cloudtrail get-trail-status --name audit --query IsLogging --output text)" False "the trail stopped logging"
expect_eq "$(awsl s3api list-objects --bucket "$BUCKET" --prefix "AWSLogs/$ACCOUNT/CloudTrail-Digest/$REGION/" --query 'length(Contents)' --output text)" 3 \
  "stop-logging delivers a final digest"
awsl cloudtrail delete-trail --name audit
expect_error TrailNotFoundException awsl cloudtrail get-trail --name audit
# --- another account's call with this account's key: an event in both accounts ---------------
OTHER=111111111111
other() { AWS_ACCESS_KEY_ID=$OTHER awsl "$@"; }
cat >"$WORK/key-policy.json" <<POLICY
{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$ACCOUNT:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$OTHER:root"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}
POLICY
KEY="$(awsl kms create-key --policy "file://$WORK/key-policy.json" --query KeyMetadata.Arn --output text)"
printf shared >"$WORK/shared.txt"
other kms encrypt --key-id "$KEY" --plaintext "fileb://$WORK/shared.txt" --query CiphertextBlob --output text | base64 -d >"$WORK/shared.bin"
expect_eq "$(other kms decrypt --ciphertext-blob "fileb://$WORK/shared.bin" --query Plaintext --output text | base64 -d)" shared "the other account decrypts with the key"
# each account's Decrypt of the key: recipient, who, and the sharedEventID that ties the two
decrypts() {
  "$@" cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=Decrypt --query 'Events[].CloudTrailEvent' --output json |
    KEY="$KEY" python3 -c 'import json,os,sys
for e in json.load(sys.stdin):
  r = json.loads(e)
  if any(x["ARN"] == os.environ["KEY"] for x in r.get("resources", [])):
    u = r["userIdentity"]
    print(r["recipientAccountId"], u["type"], u["accountId"], "arn" in u, "accessKeyId" in u, r.get("sharedEventID"))'
}
OWNER_SIDE="$(decrypts awsl)"
OTHER_SIDE="$(decrypts other)"
expect_eq "$(echo "$OWNER_SIDE" | cut -d' ' -f1-5)" "$ACCOUNT AWSAccount $OTHER False False" "the key's account sees the caller's account, not its ARN or key"
expect_eq "$(echo "$OTHER_SIDE" | cut -d' ' -f1-5)" "$OTHER Root $OTHER True True" "the caller's account sees its own principal"
expect_eq "$(echo "$OTHER_SIDE" | cut -d' ' -f6)" "$(echo "$OWNER_SIDE" | cut -d' ' -f6)" "both copies carry one sharedEventID"
echo "cloudtrail acceptance: all checks passed"
