#!/usr/bin/env bash
# The AWS CLI's ECS waiters against localfargate (their acceptors come from the CLI's own waiter
# models): tasks-running, tasks-stopped, services-stable and services-inactive succeed when the
# tasks and services get there, and tasks-running fails at once on a task that stopped.
source "$(dirname "$0")/lib.sh"
lf_start
CLUSTER=waiters
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'

awsl ecs create-cluster --cluster-name "$CLUSTER" >/dev/null
awsl ecs register-task-definition --family sleeper --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"stopTimeout":1,"command":["sleep","300"]}]' >/dev/null
awsl ecs register-task-definition --family quitter --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"command":["false"]}]' >/dev/null

TASK="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition sleeper --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
awsl ecs wait tasks-running --cluster "$CLUSTER" --tasks "$TASK" || fail "wait tasks-running"
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].lastStatus' --output text)" RUNNING "tasks-running returns once the task runs"

awsl ecs stop-task --cluster "$CLUSTER" --task "$TASK" --reason "waiter test" >/dev/null
awsl ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$TASK" || fail "wait tasks-stopped"
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].lastStatus' --output text)" STOPPED "tasks-stopped returns once the task stopped"

# a task whose only container exits: tasks-running reaches its failure acceptor (lastStatus STOPPED)
QUIT="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition quitter --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
if out="$(awsl ecs wait tasks-running --cluster "$CLUSTER" --tasks "$QUIT" 2>&1)"; then fail "tasks-running succeeded on a task that stopped"; fi
echo "$out" | grep -q "terminal failure state" || fail "tasks-running did not fail on the stopped task: $out"
echo "ok - tasks-running fails on a task that stopped"
# a task that does not exist: the MISSING failure acceptor
if out="$(awsl ecs wait tasks-running --cluster "$CLUSTER" --tasks 0123456789abcdef0123456789abcdef 2>&1)"; then fail "tasks-running succeeded on a missing task"; fi
echo "$out" | grep -q "terminal failure state" || fail "tasks-running did not fail on a missing task: $out"
echo "ok - tasks-running fails on a missing task"

awsl ecs create-service --cluster "$CLUSTER" --service-name web --task-definition sleeper --desired-count 2 --launch-type FARGATE \
  --network-configuration "$NET" >/dev/null
awsl ecs wait services-stable --cluster "$CLUSTER" --services web || fail "wait services-stable"
expect_eq "$(awsl ecs describe-services --cluster "$CLUSTER" --services web --query 'services[0].[runningCount,length(deployments)]' --output text)" "2	1" \
  "services-stable returns with every task running and one deployment"

awsl ecs update-service --cluster "$CLUSTER" --service web --desired-count 0 >/dev/null
awsl ecs delete-service --cluster "$CLUSTER" --service web >/dev/null
awsl ecs wait services-inactive --cluster "$CLUSTER" --services web || fail "wait services-inactive"
expect_eq "$(awsl ecs describe-services --cluster "$CLUSTER" --services web --query 'services[0].status' --output text)" INACTIVE "services-inactive returns once the service is gone"
if out="$(awsl ecs wait services-stable --cluster "$CLUSTER" --services web 2>&1)"; then fail "services-stable succeeded on an inactive service"; fi
echo "$out" | grep -q "terminal failure state" || fail "services-stable did not fail on an inactive service: $out"
echo "ok - services-stable fails on an inactive service"
