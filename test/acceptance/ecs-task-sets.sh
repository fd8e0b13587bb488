#!/usr/bin/env bash
# Task sets of a service with the EXTERNAL deployment controller, driven by the AWS CLI: a blue
# task set runs its tasks, a green one is made primary, blue is deleted with --force and its
# tasks stop, and the errors AWS gives for the wrong kind of service.
source "$(dirname "$0")/lib.sh"
lf_start
CLUSTER=ext

# expect_refusal CODE MESSAGE CMD...: an aws command that must fail with this error code and message
expect_refusal() {
  local code="$1" message="$2"; shift 2
  local out
  if out="$("$@" 2>&1)"; then fail "expected $code from: $*"; fi
  echo "$out" | grep -qF "($code)" && echo "$out" | grep -qF "$message" || fail "expected $code '$message' from: $* — got: $out"
  echo "ok - $code: $message"
}
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'

awsl ecs create-cluster --cluster-name "$CLUSTER" >/dev/null
awsl ecs register-task-definition --family sleeper --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"stopTimeout":1,"command":["sleep","300"]}]' >/dev/null

expect_eq "$(awsl ecs create-service --cluster "$CLUSTER" --service-name web --desired-count 2 --deployment-controller type=EXTERNAL \
  --query 'service.[deploymentController.type,length(taskSets)]' --output text)" "EXTERNAL	0" "an EXTERNAL service needs no task definition"
expect_refusal InvalidParameterException "TaskDefinition must be blank." awsl ecs create-service --cluster "$CLUSTER" --service-name bad --task-definition sleeper --deployment-controller type=EXTERNAL

BLUE="$(awsl ecs create-task-set --cluster "$CLUSTER" --service web --task-definition sleeper --launch-type FARGATE \
  --network-configuration "$NET" --scale value=50,unit=PERCENT --external-id blue --query 'taskSet.id' --output text)"
for _ in $(seq 1 200); do
  state="$(awsl ecs describe-task-sets --cluster "$CLUSTER" --service web --task-sets "$BLUE" --query 'taskSets[0].[runningCount,stabilityStatus]' --output text)"
  [ "$state" = "1	STEADY_STATE" ] && break
  sleep 0.1
done
expect_eq "$state" "1	STEADY_STATE" "a task set at 50% of 2 runs one task"
expect_eq "$(awsl ecs list-tasks --cluster "$CLUSTER" --service-name web --query 'taskArns | length(@)' --output text)" 1 "the service lists the task set's task"

GREEN="$(awsl ecs create-task-set --cluster "$CLUSTER" --service web --task-definition sleeper --launch-type FARGATE \
  --network-configuration "$NET" --scale value=100,unit=PERCENT --query 'taskSet.id' --output text)"
expect_eq "$(awsl ecs update-service-primary-task-set --cluster "$CLUSTER" --service web --primary-task-set "$GREEN" --query 'taskSet.status' --output text)" PRIMARY \
  "update-service-primary-task-set makes green primary"
expect_refusal InvalidParameterException "scaled down to zero" awsl ecs delete-task-set --cluster "$CLUSTER" --service web --task-set "$BLUE"
expect_eq "$(awsl ecs delete-task-set --cluster "$CLUSTER" --service web --task-set "$BLUE" --force --query 'taskSet.status' --output text)" DRAINING "delete-task-set --force drains blue"
for _ in $(seq 1 200); do
  left="$(awsl ecs describe-task-sets --cluster "$CLUSTER" --service web --query 'taskSets[].[externalId,status,runningCount]' --output text)"
  [ "$left" = "None	PRIMARY	2" ] && break
  sleep 0.1
done
expect_eq "$left" "None	PRIMARY	2" "blue is gone and green runs 2 tasks"

awsl ecs create-service --cluster "$CLUSTER" --service-name rolling --task-definition sleeper --desired-count 0 --launch-type FARGATE --network-configuration "$NET" >/dev/null
expect_refusal InvalidParameterException "Amazon ECS only supports task set management on services configured to use external deployment controllers." \
  awsl ecs create-task-set --cluster "$CLUSTER" --service rolling --task-definition sleeper --launch-type FARGATE --network-configuration "$NET"
expect_error "TaskSetNotFoundException" awsl ecs update-task-set --cluster "$CLUSTER" --service web --task-set ecs-svc/1234567890123456789 --scale value=0,unit=PERCENT

awsl ecs delete-service --cluster "$CLUSTER" --service web --force >/dev/null
awsl ecs wait services-inactive --cluster "$CLUSTER" --services web || fail "wait services-inactive"
echo "ok - deleting the service drains its task sets"
