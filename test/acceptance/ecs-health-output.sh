#!/usr/bin/env bash
# Container health checks and task output with the real AWS CLI and `localfargate logs`: a passing
# check makes the task HEALTHY, a service whose check fails never completes its deployment and its
# tasks are stopped with "Task failed container health checks", and a task's stdout/stderr are
# read back (while it runs, after it stops) and refused to a user without ecs:DescribeTasks.
source "$(dirname "$0")/lib.sh"
lf_start
CLUSTER=health
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'
lfcli() { (cd "$ROOT" && LOCALFARGATE_ENDPOINT="$LF_ENDPOINT" node bin/localfargate.js "$@"); }

# wait_query TASK_ARN QUERY VALUE: polls describe-tasks (up to 30 s: checks run every 5 s at the fastest)
wait_query() {
  local s=""
  for _ in $(seq 1 300); do
    s="$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$1" --query "$2" --output text)"
    [ "$s" = "$3" ] && return 0
    sleep 0.1
  done
  fail "task $1: $2 never became $3 (last: $s)"
}

awsl ecs create-cluster --cluster-name "$CLUSTER" >/dev/null

TD_OK="$(awsl ecs register-task-definition --family hc-ok --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"stopTimeout":2,
    "command":["sh","-c","echo \"hello-$((6*7))\"; echo \"warn-$((6*7))\" >&2; exec sleep 300"],
    "healthCheck":{"command":["CMD-SHELL","true"],"interval":5}}]' \
  --query taskDefinition.taskDefinitionArn --output text)"
expect_eq "$(awsl ecs describe-task-definition --task-definition "$TD_OK" --query 'taskDefinition.containerDefinitions[0].healthCheck.[interval,timeout,retries]' --output text)" \
  "5	5	3" "register-task-definition fills the health check defaults"
expect_error ClientException awsl ecs register-task-definition --family hc-bad --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","healthCheck":{"command":["CMD","true"],"interval":1}}]'

T1="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition "$TD_OK" --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
wait_query "$T1" 'tasks[0].lastStatus' RUNNING
wait_query "$T1" 'tasks[0].healthStatus' HEALTHY
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T1" --query 'tasks[0].containers[0].healthStatus' --output text)" HEALTHY "the container is HEALTHY"

expect_eq "$(lfcli logs "$T1" 2>/dev/null)" "hello-42" "localfargate logs prints the task's stdout while it runs"
expect_eq "$(lfcli logs "$T1" 2>&1 >/dev/null)" "warn-42" "and its stderr on stderr"
grep -rq -- "hello-42" "$LF_DATA/data" && fail "the task's output is in plaintext in the data dir"
echo "ok - the output is not in plaintext in the data dir"

awsl iam create-user --user-name nobody >/dev/null
read -r NOBODY_KEY NOBODY_SECRET < <(awsl iam create-access-key --user-name nobody --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
if OUT="$(AWS_ACCESS_KEY_ID="$NOBODY_KEY" AWS_SECRET_ACCESS_KEY="$NOBODY_SECRET" lfcli logs "$T1" 2>&1)"; then fail "a user without ecs:DescribeTasks read the output"; fi
echo "$OUT" | grep -q "not authorized to perform: ecs:DescribeTasks" || fail "unexpected refusal: $OUT"
echo "ok - a user without ecs:DescribeTasks is refused"

awsl ecs stop-task --cluster "$CLUSTER" --task "$T1" >/dev/null
wait_query "$T1" 'tasks[0].lastStatus' STOPPED
expect_eq "$(lfcli logs "$T1" 2>/dev/null)" "hello-42" "localfargate logs prints the output after the task stopped"

TD_BAD="$(awsl ecs register-task-definition --family hc-bad --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"stopTimeout":2,"command":["sleep","300"],
    "healthCheck":{"command":["CMD","false"],"interval":5,"retries":1}}]' \
  --query taskDefinition.taskDefinitionArn --output text)"
awsl ecs create-service --cluster "$CLUSTER" --service-name bad --task-definition "$TD_BAD" --desired-count 1 --launch-type FARGATE \
  --network-configuration "$NET" >/dev/null
FIRST=""
for _ in $(seq 1 100); do
  FIRST="$(awsl ecs list-tasks --cluster "$CLUSTER" --service-name bad --query 'taskArns[0]' --output text)"
  [ "$FIRST" != "None" ] && [ -n "$FIRST" ] && break
  sleep 0.1
done
wait_query "$FIRST" 'tasks[0].lastStatus' STOPPED
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$FIRST" --query 'tasks[0].[stopCode,stoppedReason]' --output text)" \
  "ServiceSchedulerInitiated	Task failed container health checks" "the unhealthy service task is stopped"
expect_eq "$(awsl ecs describe-services --cluster "$CLUSTER" --services bad --query 'services[0].deployments[0].rolloutState' --output text)" \
  IN_PROGRESS "the deployment does not complete"
awsl ecs delete-service --cluster "$CLUSTER" --service bad --force >/dev/null
echo "PASS ecs-health-output"
