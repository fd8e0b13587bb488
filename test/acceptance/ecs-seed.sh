#!/usr/bin/env bash
# The seed (customer managed keys for Fargate ephemeral storage) with the real AWS CLI: key with
# the documented key policy, create-cluster --configuration, describe-clusters --include
# CONFIGURATIONS, run-task, describe-tasks, update-cluster, a service redeployed onto the new key
# with --force-new-deployment, and a disabled key failing new tasks while a running one keeps running.
source "$(dirname "$0")/lib.sh"
lf_start
ACCT=000000000000
REGION="$AWS_DEFAULT_REGION"
CLUSTER=ecs-fargate-self-managed-key-cluster
NET='{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}'

policy() {
  cat <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$ACCT:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"Allow generate data key access for Fargate tasks.","Effect":"Allow","Principal":{"Service":"fargate.amazonaws.com"},
  "Action":["kms:GenerateDataKeyWithoutPlaintext"],
  "Condition":{"StringEquals":{"kms:EncryptionContext:aws:ecs:clusterAccount":["$ACCT"],"kms:EncryptionContext:aws:ecs:clusterName":["$CLUSTER"]}},"Resource":"*"},
 {"Sid":"Allow grant creation permission for Fargate tasks.","Effect":"Allow","Principal":{"Service":"fargate.amazonaws.com"},
  "Action":["kms:CreateGrant"],
  "Condition":{"StringEquals":{"kms:EncryptionContext:aws:ecs:clusterAccount":["$ACCT"],"kms:EncryptionContext:aws:ecs:clusterName":["$CLUSTER"]},
               "ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt"]}},"Resource":"*"},
 {"Sid":"Allow describe key permission for cluster operator - CreateCluster and UpdateCluster.","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$ACCT:root"},"Action":["kms:DescribeKey"],"Resource":"*"}
]}
EOF
}

# wait_task TASK_ARN STATUS: polls describe-tasks until lastStatus is STATUS
wait_task() {
  local s=""
  for _ in $(seq 1 300); do
    s="$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$1" --query 'tasks[0].lastStatus' --output text)"
    [ "$s" = "$2" ] && return 0
    sleep 0.1
  done
  fail "task $1 did not reach $2 (last: $s)"
}

KEY_A_ID="$(awsl kms create-key --policy "$(policy)" --description fargate-a --query KeyMetadata.KeyId --output text)"
KEY_A_ARN="arn:aws:kms:$REGION:$ACCT:key/$KEY_A_ID"
KEY_B_ARN="$(awsl kms create-key --policy "$(policy)" --description fargate-b --query KeyMetadata.Arn --output text)"

# create-cluster with the bare key ID: ECS returns the key ARN
GOT="$(awsl ecs create-cluster --cluster-name "$CLUSTER" \
  --configuration "{\"managedStorageConfiguration\":{\"fargateEphemeralStorageKmsKeyId\":\"$KEY_A_ID\"}}" \
  --query cluster.configuration.managedStorageConfiguration.fargateEphemeralStorageKmsKeyId --output text)"
expect_eq "$GOT" "$KEY_A_ARN" "create-cluster returns the key ARN"

expect_eq "$(awsl ecs describe-clusters --clusters "$CLUSTER" --query 'clusters[0].configuration' --output text)" "None" \
  "describe-clusters without --include has no configuration"
expect_eq "$(awsl ecs describe-clusters --clusters "$CLUSTER" --include CONFIGURATIONS \
  --query 'clusters[0].configuration.managedStorageConfiguration.fargateEphemeralStorageKmsKeyId' --output text)" "$KEY_A_ARN" \
  "describe-clusters --include CONFIGURATIONS shows the key"

expect_error InvalidParameterException awsl ecs create-cluster --cluster-name aliased \
  --configuration '{"managedStorageConfiguration":{"fargateEphemeralStorageKmsKeyId":"alias/my-key"}}'

TD="$(awsl ecs register-task-definition --family seed-app --requires-compatibilities FARGATE --network-mode awsvpc \
  --cpu 256 --memory 512 --ephemeral-storage sizeInGiB=21 \
  --container-definitions '[{"name":"app","image":"busybox","command":["sleep","300"],"essential":true,"stopTimeout":2}]' \
  --query taskDefinition.taskDefinitionArn --output text)"

T1="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition "$TD" --launch-type FARGATE --network-configuration "$NET" \
  --query 'tasks[0].taskArn' --output text)"
wait_task "$T1" RUNNING
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T1" --query 'tasks[0].fargateEphemeralStorage.kmsKeyId' --output text)" "$KEY_A_ARN" \
  "describe-tasks shows fargateEphemeralStorage.kmsKeyId"
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T1" --query 'tasks[0].fargateEphemeralStorage.sizeInGiB' --output text)" "21" \
  "describe-tasks shows fargateEphemeralStorage.sizeInGiB"
expect_eq "$(awsl kms list-grants --key-id "$KEY_A_ARN" --query 'Grants[0].GranteePrincipal' --output text)" "fargate.$REGION.amazonaws.com" \
  "the task's grant goes to the regional Fargate principal"

# a service on key A, then the cluster moves to key B and a forced deployment follows
awsl ecs create-service --cluster "$CLUSTER" --service-name web --task-definition "$TD" --desired-count 2 --launch-type FARGATE \
  --network-configuration "$NET" >/dev/null
for _ in $(seq 1 300); do
  [ "$(awsl ecs describe-services --cluster "$CLUSTER" --services web --query 'services[0].runningCount' --output text)" = 2 ] && break
  sleep 0.1
done
expect_eq "$(awsl ecs describe-services --cluster "$CLUSTER" --services web --query 'services[0].deployments[0].fargateEphemeralStorage.kmsKeyId' --output text)" "$KEY_A_ARN" \
  "the service's deployment records key A"

expect_eq "$(awsl ecs update-cluster --cluster "$CLUSTER" \
  --configuration "{\"managedStorageConfiguration\":{\"fargateEphemeralStorageKmsKeyId\":\"$KEY_B_ARN\"}}" \
  --query cluster.configuration.managedStorageConfiguration.fargateEphemeralStorageKmsKeyId --output text)" "$KEY_B_ARN" "update-cluster attaches key B"

awsl ecs update-service --cluster "$CLUSTER" --service web --force-new-deployment >/dev/null
DONE=""
for _ in $(seq 1 400); do
  OUT="$(awsl ecs describe-services --cluster "$CLUSTER" --services web \
    --query 'services[0].[length(deployments), deployments[0].rolloutState, runningCount, deployments[0].fargateEphemeralStorage.kmsKeyId]' --output text)"
  if [ "$OUT" = "$(printf '1\tCOMPLETED\t2\t%s' "$KEY_B_ARN")" ]; then DONE=1; break; fi
  sleep 0.1
done
[ -n "$DONE" ] || fail "force-new-deployment did not complete on key B (last: $OUT)"
echo "ok - force-new-deployment rolled the service onto key B"
SVC_TASKS="$(awsl ecs list-tasks --cluster "$CLUSTER" --service-name web --query 'taskArns' --output text)"
for t in $SVC_TASKS; do
  expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$t" --query 'tasks[0].fargateEphemeralStorage.kmsKeyId' --output text)" "$KEY_B_ARN" \
    "service task uses key B"
done

# disable key B: a new task fails to start, the running ones keep running
T2="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition "$TD" --launch-type FARGATE --network-configuration "$NET" \
  --query 'tasks[0].taskArn' --output text)"
wait_task "$T2" RUNNING
awsl kms disable-key --key-id "$KEY_B_ARN"
T3="$(awsl ecs run-task --cluster "$CLUSTER" --task-definition "$TD" --launch-type FARGATE --network-configuration "$NET" \
  --query 'tasks[0].taskArn' --output text)"
wait_task "$T3" STOPPED
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T3" --query 'tasks[0].stopCode' --output text)" "TaskFailedToStart" \
  "a task on the disabled key fails to start"
REASON="$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T3" --query 'tasks[0].stoppedReason' --output text)"
echo "$REASON" | grep -q "is disabled" || fail "stoppedReason should name the disabled key: $REASON"
echo "ok - stoppedReason: $REASON"
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T2" --query 'tasks[0].lastStatus' --output text)" "RUNNING" \
  "the running task keeps running"

awsl ecs stop-task --cluster "$CLUSTER" --task "$T1" >/dev/null
wait_task "$T1" STOPPED
expect_eq "$(awsl ecs describe-tasks --cluster "$CLUSTER" --tasks "$T1" --query 'tasks[0].stopCode' --output text)" "UserInitiated" "stop-task"
echo "ecs-seed: all checks passed"
