#!/usr/bin/env bash
# Account and Region isolation with the real AWS CLI: account 000000000000 owns a cluster and a
# task definition carrying an environment value; account 111111111111 (its root) cannot read,
# change, tag or deregister them by ARN, and the owner's ARNs name nothing from another Region.
source "$(dirname "$0")/lib.sh"
lf_start
REGION="$AWS_DEFAULT_REGION"

CLUSTER_ARN="$(awsl ecs create-cluster --cluster-name prod --tags key=team,value=a --query cluster.clusterArn --output text)"
TD_ARN="$(awsl ecs register-task-definition --family secret-app --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","command":["sleep","60"],"environment":[{"name":"DB_PASSWORD","value":"hunter2"}]}]' \
  --query taskDefinition.taskDefinitionArn --output text)"

other() { AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=test awsl "$@"; }

expect_error ClientException other ecs describe-task-definition --task-definition "$TD_ARN"
expect_error AccessDeniedException other ecs update-cluster --cluster "$CLUSTER_ARN" --settings name=containerInsights,value=enabled
expect_error AccessDeniedException other ecs tag-resource --resource-arn "$CLUSTER_ARN" --tags key=team,value=b
expect_error AccessDeniedException other ecs deregister-task-definition --task-definition "$TD_ARN"
expect_error ClusterNotFoundException other ecs list-tasks --cluster "$CLUSTER_ARN"

expect_error ClusterNotFoundException awsl --region eu-west-1 ecs update-cluster --cluster "$CLUSTER_ARN" --settings name=containerInsights,value=enabled
expect_error ClientException awsl --region eu-west-1 ecs describe-task-definition --task-definition "$TD_ARN"
expect_eq "$(awsl --region eu-west-1 ecs describe-clusters --clusters "$CLUSTER_ARN" --query 'failures[0].reason' --output text)" MISSING "describe-clusters from another Region"

expect_eq "$(awsl ecs describe-clusters --clusters prod --include TAGS SETTINGS --query 'clusters[0].[tags[0].value,settings[0].value]' --output text)" "a	disabled" "the owner's cluster is unchanged"
expect_eq "$(awsl ecs describe-task-definition --task-definition "$TD_ARN" --query taskDefinition.status --output text)" ACTIVE "the owner's task definition is still ACTIVE"
echo "isolation: all ok"
