#!/usr/bin/env bash
# Task IAM roles with the real AWS CLI: a role trusting ecs-tasks.amazonaws.com, a task that
# records the container credentials URI it was given, and the CLI's own container credentials
# provider (no keys, only AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_ENDPOINT_URL, as inside the
# task) calling STS and KMS as assumed-role/<role>/<task id>; the key policy decides, and the
# endpoint stops serving when the task stops.
source "$(dirname "$0")/lib.sh"
lf_start
ACCT=000000000000
REGION="$AWS_DEFAULT_REGION"
CLUSTER=task-roles
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'

TRUST="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\",
 \"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:ecs:$REGION:$ACCT:*\"},\"StringEquals\":{\"aws:SourceAccount\":\"$ACCT\"}}}]}"
awsl iam create-role --role-name app-role --assume-role-policy-document "$TRUST" >/dev/null
awsl iam put-role-policy --role-name app-role --policy-name use-keys \
  --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}'
ROOT_STMT="{\"Sid\":\"root\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCT:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}"
ALLOW_KEY="$(awsl kms create-key --policy "{\"Version\":\"2012-10-17\",\"Statement\":[$ROOT_STMT]}" --query KeyMetadata.KeyId --output text)"
DENY_KEY="$(awsl kms create-key --policy "{\"Version\":\"2012-10-17\",\"Statement\":[$ROOT_STMT,
  {\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCT:role/app-role\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}]}" --query KeyMetadata.KeyId --output text)"

awsl ecs create-cluster --cluster-name "$CLUSTER" >/dev/null
awsl ecs register-task-definition --family role-app --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --task-role-arn app-role \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"stopTimeout":2,
    "command":["sh","-c","echo \"$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_ENDPOINT_URL\" > uri.txt; sleep 300"]}]' >/dev/null
TASK="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition role-app --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
TASK_ID="${TASK##*/}"

URI_FILE=""
uri_written() {
  URI_FILE="$(find "$LF_DATA/data/volumes" -name uri.txt 2>/dev/null | head -1)"
  [ -n "$URI_FILE" ] && [ -s "$URI_FILE" ]
}
poll uri_written || true
[ -n "$URI_FILE" ] || fail "the task never wrote its credentials URI"
read -r CREDS_URI ENDPOINT_URL <"$URI_FILE"
expect_eq "$ENDPOINT_URL" "$LF_ENDPOINT" "AWS_ENDPOINT_URL points at localfargate"
case "$CREDS_URI" in "$LF_ENDPOINT/v2/credentials/"*) echo "ok - full URI on loopback" ;; *) fail "unexpected credentials URI '$CREDS_URI'" ;; esac

# The CLI as the task's code runs it: no keys, the container credentials provider, AWS_ENDPOINT_URL.
as_task() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED=true \
  AWS_CONTAINER_CREDENTIALS_FULL_URI="$CREDS_URI" AWS_ENDPOINT_URL="$ENDPOINT_URL" aws "$@"; }
expect_eq "$(as_task sts get-caller-identity --query Arn --output text)" "arn:aws:sts::$ACCT:assumed-role/app-role/$TASK_ID" "the task calls AWS as its task role"
expect_eq "$(as_task kms encrypt --key-id "$ALLOW_KEY" --plaintext aGVsbG8= --query KeyId --output text)" "arn:aws:kms:$REGION:$ACCT:key/$ALLOW_KEY" "the role encrypts where the key policy allows"
expect_error AccessDeniedException as_task kms encrypt --key-id "$DENY_KEY" --plaintext aGVsbG8=

EVENT="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=AssumeRole --query 'Events[0].CloudTrailEvent' --output text)"
expect_eq "$(echo "$EVENT" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["userIdentity"]["invokedBy"], e["sourceIPAddress"], e["requestParameters"]["roleSessionName"])')" \
  "ecs-tasks.amazonaws.com ecs-tasks.amazonaws.com $TASK_ID" "CloudTrail records ECS's AssumeRole"

awsl ecs stop-task --cluster "$CLUSTER" --task "$TASK" >/dev/null
for _ in $(seq 1 300); do
  [ "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].lastStatus' --output text)" = STOPPED ] && break
  sleep 0.1
done
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$CREDS_URI")" "400" "a stopped task's credentials are no longer served"
