#!/usr/bin/env bash
# ECR images with the real AWS CLI: a task whose execution role may not pull its ECR image stops
# with ECS's CannotPullContainerError (AccessDeniedException from ecr:BatchGetImage), one without
# an execution role with 401 Unauthorized, and CloudTrail shows the ECR calls as the role's session.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lf_start
REGION="$AWS_DEFAULT_REGION"
ACCT=000000000000
IMAGE="$ACCT.dkr.ecr.$REGION.amazonaws.com/team/app:v1"
NET='awsvpcConfiguration={subnets=[subnet-12345678],securityGroups=[sg-12345678]}'

awsl iam create-role --role-name login-only --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
awsl iam put-role-policy --role-name login-only --policy-name ecr --policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}'
awsl ecs create-cluster --cluster-name ecr >/dev/null

# run_stopped FAMILY [--execution-role-arn ARN]: registers, runs and waits; prints the task ARN
run_stopped() {
  local family="$1"; shift
  local td t
  td="$(awsl ecs register-task-definition --family "$family" --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 "$@" \
    --container-definitions "[{\"name\":\"app\",\"image\":\"$IMAGE\",\"essential\":true,\"command\":[\"true\"]}]" --query taskDefinition.taskDefinitionArn --output text)"
  t="$(awsl ecs run-task --cluster ecr --task-definition "$td" --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
  for _ in $(seq 1 300); do
    [ "$(awsl ecs describe-tasks --cluster ecr --tasks "$t" --query 'tasks[0].lastStatus' --output text)" = STOPPED ] && break
    sleep 0.1
  done
  echo "$t"
}

T="$(run_stopped login-only --execution-role-arn "arn:aws:iam::$ACCT:role/login-only")"
TASK_ID="${T##*/}"
REASON="$(awsl ecs describe-tasks --cluster ecr --tasks "$T" --query 'tasks[0].stoppedReason' --output text)"
expect_eq "$REASON" "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref $IMAGE: pulling from host $ACCT.dkr.ecr.$REGION.amazonaws.com failed with status code [manifests v1]: 403 Forbidden: AccessDeniedException: User: arn:aws:sts::$ACCT:assumed-role/login-only/$TASK_ID is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:$REGION:$ACCT:repository/team/app because no identity-based policy allows the ecr:BatchGetImage action" \
  "a role without ecr:BatchGetImage stops the task with CannotPullContainerError"
expect_eq "$(awsl ecs describe-tasks --cluster ecr --tasks "$T" --query 'tasks[0].stopCode' --output text)" "TaskFailedToStart" "stopCode"

T="$(run_stopped no-role)"
REASON="$(awsl ecs describe-tasks --cluster ecr --tasks "$T" --query 'tasks[0].stoppedReason' --output text)"
case "$REASON" in "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref $IMAGE: pulling from host $ACCT.dkr.ecr.$REGION.amazonaws.com failed with status code [manifests v1]: 401 Unauthorized"*) echo "ok - no execution role: 401 Unauthorized";; *) fail "stoppedReason: $REASON";; esac

# CloudTrail: the registry login succeeded and the manifest read was refused, both as the role's session
EVENTS="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventSource,AttributeValue=ecr.amazonaws.com --query 'Events[].CloudTrailEvent' --output json)"
python3 - "$EVENTS" "$TASK_ID" <<'PY' || fail "CloudTrail ECR records"
import json, sys
events = [json.loads(e) for e in json.loads(sys.argv[1])]
mine = [e for e in events if e["userIdentity"].get("arn", "").endswith("/login-only/" + sys.argv[2])]
names = {e["eventName"]: e.get("errorCode") for e in mine}
assert names == {"GetAuthorizationToken": None, "BatchGetImage": "AccessDeniedException"}, names
assert all(e["sourceIPAddress"] == "ecs-tasks.amazonaws.com" for e in mine)
PY
echo "ok - CloudTrail records GetAuthorizationToken and the refused BatchGetImage as the execution role's session"
