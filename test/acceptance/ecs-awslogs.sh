#!/usr/bin/env bash
# The awslogs log driver with the real AWS CLI: a Fargate task whose container logs with awslogs
# writes to prefix/container/task-id through its execution role, `aws logs get-log-events` and
# `filter-log-events` read a running task's output and still read it after the task stopped, the
# output is sealed at rest in a group under a customer managed key, and a role that may not
# create the stream stops the task with ResourceInitializationError.
source "$(dirname "$0")/lib.sh"
lf_start
CLUSTER=logging
REGION="$AWS_DEFAULT_REGION"
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'

wait_query() {
  local s=""
  for _ in $(seq 1 300); do
    s="$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$1" --query "$2" --output text)"
    [ "$s" = "$3" ] && return 0
    sleep 0.1
  done
  fail "task $1: $2 never became $3 (last: $s)"
}

# wait_events GROUP STREAM COUNT: polls get-log-events until the stream holds COUNT events
wait_events() {
  local n=""
  for _ in $(seq 1 300); do
    n="$(awsl logs get-log-events --log-group-name "$1" --log-stream-name "$2" --start-from-head --query 'length(events)' --output text 2>/dev/null || true)"
    [ "$n" = "$3" ] && return 0
    sleep 0.1
  done
  fail "$1 $2 never held $3 events (last: $n)"
}

role() {
  awsl iam create-role --role-name "$1" --assume-role-policy-document "$TRUST" >/dev/null
  awsl iam put-role-policy --role-name "$1" --policy-name logs --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":$2,\"Resource\":\"*\"}]}"
  awsl iam get-role --role-name "$1" --query Role.Arn --output text
}

# register FAMILY ROLE GROUP SCRIPT
register() {
  awsl ecs register-task-definition --family "$1" --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
    --execution-role-arn "$2" \
    --container-definitions "[{\"name\":\"app\",\"image\":\"busybox\",\"essential\":true,\"stopTimeout\":2,\"command\":[\"sh\",\"-c\",\"$4\"],
      \"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"$3\",\"awslogs-region\":\"$REGION\",\"awslogs-stream-prefix\":\"ecs\"}}}]" \
    --query taskDefinition.taskDefinitionArn --output text
}

run() { awsl ecs run-task --cluster "$CLUSTER" --task-definition "$1" --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text; }

awsl ecs create-cluster --cluster-name "$CLUSTER" >/dev/null
EXEC="$(role exec '["logs:CreateLogStream","logs:PutLogEvents"]')"

expect_error ClientException awsl ecs register-task-definition --family nolog --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --execution-role-arn "$EXEC" \
  --container-definitions '[{"name":"app","image":"busybox","logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web","awslogs-region":"us-west-2"}}}]'

# a customer managed key whose policy lets CloudWatch Logs use it
ACCOUNT="$(awsl sts get-caller-identity --query Account --output text)"
KEY="$(awsl kms create-key --policy "{\"Version\":\"2012-10-17\",\"Statement\":[
  {\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCOUNT:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},
  {\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"logs.$REGION.amazonaws.com\"},\"Action\":[\"kms:Encrypt*\",\"kms:Decrypt*\",\"kms:GenerateDataKey*\",\"kms:Describe*\"],\"Resource\":\"*\"}]}" \
  --query KeyMetadata.Arn --output text)"
awsl logs create-log-group --log-group-name /ecs/web --kms-key-id "$KEY"

TD="$(register web "$EXEC" /ecs/web 'echo hello-$((6*7)); echo warn-$((6*7)) >&2; exec sleep 300')"
T1="$(run "$TD")"
ID1="${T1##*/}"
wait_query "$T1" 'tasks[0].lastStatus' RUNNING
wait_events /ecs/web "ecs/app/$ID1" 2
expect_eq "$(awsl logs get-log-events --log-group-name /ecs/web --log-stream-name "ecs/app/$ID1" --start-from-head --query 'sort(events[].message)' --output text)" \
  "hello-42	warn-42" "get-log-events reads the running task's stdout and stderr"
expect_eq "$(awsl logs filter-log-events --log-group-name /ecs/web --filter-pattern hello --query 'events[].[logStreamName,message]' --output text)" \
  "ecs/app/$ID1	hello-42" "filter-log-events finds the line in the task's stream"
grep -rq -- "hello-42" "$LF_DATA/data" && fail "the task's output is in plaintext in the data dir"
echo "ok - the output is not in plaintext in the data dir"

awsl ecs stop-task --cluster "$CLUSTER" --task "$T1" >/dev/null
wait_query "$T1" 'tasks[0].lastStatus' STOPPED
expect_eq "$(awsl logs get-log-events --log-group-name /ecs/web --log-stream-name "ecs/app/$ID1" --start-from-head --query 'length(events)' --output text)" \
  2 "the output survives the task"

BARE="$(role bare '["logs:PutLogEvents"]')"
T2="$(run "$(register bare "$BARE" /ecs/web 'echo never')")"
wait_query "$T2" 'tasks[0].lastStatus' STOPPED
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T2" --query 'tasks[0].stopCode' --output text)" TaskFailedToStart "a role without logs:CreateLogStream fails the task"
awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T2" --query 'tasks[0].stoppedReason' --output text |
  grep -q "^ResourceInitializationError: failed to validate logger args: AccessDeniedException: .*logs:CreateLogStream" || fail "unexpected stop reason"
echo "ok - with AWS's ResourceInitializationError"
echo "PASS ecs-awslogs"
