#!/usr/bin/env bash
# CloudWatch Logs with the real AWS CLI: a log group under a customer managed key (the key policy
# allows logs.<region>.amazonaws.com), put-log-events, get-log-events in both directions,
# filter-log-events with text and JSON patterns, AWS's errors, the key disabled and enabled, and
# the service's KMS calls in CloudTrail. Starts its own server; exits non-zero on any mismatch.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lf_start
REGION="$AWS_DEFAULT_REGION"
ACCOUNT=000000000000
GROUP=/acceptance/app
GROUP_ARN="arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${GROUP}"

POLICY="$(python3 - "$REGION" "$ACCOUNT" "$GROUP_ARN" <<'EOF'
import json, sys
region, account, group = sys.argv[1:]
print(json.dumps({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
  {"Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
   "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], "Resource": "*",
   "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group}}}]}))
EOF
)"
KEY_ARN="$(awsl kms create-key --policy "$POLICY" --query KeyMetadata.Arn --output text)"
PLAIN_KEY="$(awsl kms create-key --query KeyMetadata.Arn --output text)"

expect_error AccessDeniedException awsl logs create-log-group --log-group-name /acceptance/refused --kms-key-id "$PLAIN_KEY"
awsl logs create-log-group --log-group-name "$GROUP" --kms-key-id "$KEY_ARN" --tags team=platform
expect_eq "$(awsl logs describe-log-groups --log-group-name-prefix "$GROUP" --query 'logGroups[0].kmsKeyId' --output text)" "$KEY_ARN" "create-log-group --kms-key-id"
expect_error ResourceAlreadyExistsException awsl logs create-log-group --log-group-name "$GROUP"
expect_error InvalidParameterException awsl logs put-retention-policy --log-group-name "$GROUP" --retention-in-days 2
awsl logs put-retention-policy --log-group-name "$GROUP" --retention-in-days 30
expect_eq "$(awsl logs describe-log-groups --log-group-name-prefix "$GROUP" --query 'logGroups[0].retentionInDays' --output text)" "30" "put-retention-policy"
expect_eq "$(awsl logs list-tags-log-group --log-group-name "$GROUP" --query tags.team --output text)" "platform" "tags at creation"

awsl logs create-log-stream --log-group-name "$GROUP" --log-stream-name web/app/1
NOW="$(curl -fsS "$LF_ENDPOINT/_localfargate/clock" | python3 -c 'import json,sys,datetime; print(int(datetime.datetime.fromisoformat(json.load(sys.stdin)["now"].replace("Z","+00:00")).timestamp()*1000))')"
EVENTS="$(python3 - "$NOW" <<'EOF'
import json, sys
now = int(sys.argv[1])
msgs = ["INFO starting", "ERROR disk full", json.dumps({"level": "WARN", "latency": 900}), "INFO ready", json.dumps({"level": "INFO", "latency": 5})]
print(json.dumps([{"timestamp": now - 10 + i, "message": m} for i, m in enumerate(msgs)]))
EOF
)"
awsl logs put-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --log-events "$EVENTS" > /dev/null
echo "ok - put-log-events"
expect_error InvalidParameterException awsl logs put-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 \
  --log-events "[{\"timestamp\": $NOW, \"message\": \"b\"}, {\"timestamp\": $((NOW - 1)), \"message\": \"a\"}]"
expect_error ResourceNotFoundException awsl logs put-log-events --log-group-name "$GROUP" --log-stream-name nope --log-events "[{\"timestamp\": $NOW, \"message\": \"x\"}]"
TOO_OLD=$((NOW - 15 * 86400000))
expect_eq "$(awsl logs put-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --log-events "[{\"timestamp\": $TOO_OLD, \"message\": \"old\"}]" \
  --query rejectedLogEventsInfo.tooOldLogEventEndIndex --output text)" "1" "too-old events are rejected"

expect_eq "$(awsl logs get-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --start-from-head --limit 2 --query 'events[].message' --output text)" \
  "INFO starting	ERROR disk full" "get-log-events --start-from-head"
expect_eq "$(awsl logs get-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --limit 1 --query 'events[].message' --output text)" \
  '{"level": "INFO", "latency": 5}' "get-log-events from the end"
BACK="$(awsl logs get-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --limit 2 --query nextBackwardToken --output text)"
expect_eq "$(awsl logs get-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --limit 1 --next-token "$BACK" --query 'events[].message' --output text)" \
  '{"level": "WARN", "latency": 900}' "get-log-events with nextBackwardToken"

expect_eq "$(awsl logs filter-log-events --log-group-name "$GROUP" --filter-pattern ERROR --query 'events[].message' --output text)" "ERROR disk full" "filter-log-events term"
expect_eq "$(awsl logs filter-log-events --log-group-name "$GROUP" --filter-pattern '?ready ?disk' --query 'length(events)' --output text)" "2" "filter-log-events ?OR"
expect_eq "$(awsl logs filter-log-events --log-group-name "$GROUP" --filter-pattern 'INFO -ready' --query 'length(events)' --output text)" "2" "filter-log-events -exclusion"
expect_eq "$(awsl logs filter-log-events --log-group-name "$GROUP" --filter-pattern '{ $.latency > 100 }' --query 'events[0].message' --output text)" \
  '{"level": "WARN", "latency": 900}' "filter-log-events JSON comparison"
# the CLI pages through filter-log-events itself: five events, two per page
expect_eq "$(awsl logs filter-log-events --log-group-name "$GROUP" --page-size 2 --query 'length(events)' --output json)" "5" "filter-log-events paging"
expect_error InvalidParameterException awsl logs filter-log-events --log-group-name "$GROUP" --filter-pattern '{ $.a = }'

KEY_ID="${KEY_ARN##*/}"
awsl kms disable-key --key-id "$KEY_ID"
expect_error AccessDeniedException awsl logs get-log-events --log-group-name "$GROUP" --log-stream-name web/app/1
expect_error AccessDeniedException awsl logs put-log-events --log-group-name "$GROUP" --log-stream-name web/app/1 --log-events "[{\"timestamp\": $NOW, \"message\": \"x\"}]"
awsl kms enable-key --key-id "$KEY_ID"
expect_eq "$(awsl logs filter-log-events --log-group-name "$GROUP" --query 'length(events)' --output text)" "5" "readable again after enable-key"

GEN="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GenerateDataKey --query 'Events[].CloudTrailEvent' --output json)"
python3 - "$GEN" "$GROUP_ARN" <<'EOF' || fail "GenerateDataKey record of CloudWatch Logs"
import json, sys
records = [json.loads(e) for e in json.loads(sys.argv[1])]
mine = [r for r in records if r["requestParameters"].get("encryptionContext", {}).get("aws:logs:arn") == sys.argv[2]]
assert mine, records
r = mine[0]
assert r["userIdentity"]["type"] == "AWSService", r["userIdentity"]
assert r["userIdentity"]["invokedBy"] == "logs.amazonaws.com", r["userIdentity"]
assert r["eventSource"] == "kms.amazonaws.com"
EOF
echo "ok - CloudTrail records CloudWatch Logs' GenerateDataKey with aws:logs:arn"

awsl logs delete-log-group --log-group-name "$GROUP"
expect_error ResourceNotFoundException awsl logs get-log-events --log-group-name "$GROUP" --log-stream-name web/app/1
echo "PASS logs.sh"
