#!/usr/bin/env bash
# ECS service deployments with the AWS CLI: a service's deployments and revisions are listed and
# described, the deployment circuit breaker rolls a deployment whose tasks exit back to the last
# completed revision, and `aws ecs wait services-stable` still returns once the rollback is done.
source "$(dirname "$0")/lib.sh"
lf_start
CLUSTER=deployments
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'

awsl ecs create-cluster --cluster-name "$CLUSTER" >/dev/null
GOOD="$(awsl ecs register-task-definition --family steady --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"stopTimeout":1,"command":["sleep","300"]}]' \
  --query 'taskDefinition.taskDefinitionArn' --output text)"
awsl ecs register-task-definition --family quitter --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"command":["false"]}]' >/dev/null

awsl ecs create-service --cluster "$CLUSTER" --service-name web --task-definition steady --desired-count 1 --launch-type FARGATE \
  --network-configuration "$NET" --deployment-configuration 'deploymentCircuitBreaker={enable=true,rollback=true}' >/dev/null
awsl ecs wait services-stable --cluster "$CLUSTER" --services web || fail "wait services-stable"
FIRST="$(awsl ecs list-service-deployments --cluster "$CLUSTER" --service web --query 'serviceDeployments[0].serviceDeploymentArn' --output text)"
# services-stable returns once the task runs; the deployment completes after its task has stayed
# RUNNING a moment (docs/ecs-fargate.md#service-deployments), so poll for it
status=""
for _ in $(seq 1 300); do
  status="$(awsl ecs describe-service-deployments --service-deployment-arns "$FIRST" --query 'serviceDeployments[0].status' --output text)"
  [ "$status" = SUCCESSFUL ] && break
  sleep 0.2
done
expect_eq "$status" SUCCESSFUL "the first deployment succeeded"
REV="$(awsl ecs describe-service-deployments --service-deployment-arns "$FIRST" --query 'serviceDeployments[0].targetServiceRevision.arn' --output text)"
expect_eq "$(awsl ecs describe-service-revisions --service-revision-arns "$REV" --query 'serviceRevisions[0].taskDefinition' --output text)" "$GOOD" \
  "its revision runs the first task definition"

awsl ecs update-service --cluster "$CLUSTER" --service web --task-definition quitter >/dev/null
SECOND="$(awsl ecs list-service-deployments --cluster "$CLUSTER" --service web --query 'serviceDeployments[0].serviceDeploymentArn' --output text)"
status=""
for _ in $(seq 1 300); do
  status="$(awsl ecs describe-service-deployments --service-deployment-arns "$SECOND" --query 'serviceDeployments[0].status' --output text)"
  [ "$status" = ROLLBACK_SUCCESSFUL ] && break
  sleep 0.2
done
expect_eq "$status" ROLLBACK_SUCCESSFUL "the circuit breaker rolled the failing deployment back"
expect_eq "$(awsl ecs describe-service-deployments --service-deployment-arns "$SECOND" --query 'serviceDeployments[0].rollback.serviceRevisionArn' --output text)" "$REV" \
  "to the last completed revision"
awsl ecs wait services-stable --cluster "$CLUSTER" --services web || fail "wait services-stable after the rollback"
expect_eq "$(awsl ecs describe-services --cluster "$CLUSTER" --services web --query 'services[0].taskDefinition' --output text)" "$GOOD" \
  "the service runs the first task definition again"
expect_error "ConflictException" awsl ecs stop-service-deployment --service-deployment-arn "$SECOND"
