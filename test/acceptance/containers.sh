#!/usr/bin/env bash
# A task definition's image run with crun, through the real AWS CLI: an image built here and
# loaded with `localfargate image load`, its command and environment from the task definition,
# its port reached from the host at the task's own address, its task role read at 169.254.170.2
# inside the container, its output through `localfargate logs`, and a missing image stopping the
# task with CannotPullContainerError. Exits 0 with the reason where this machine cannot run
# containers (the server then chose host processes).
source "$(dirname "$0")/lib.sh"
DRIVER=plain
command -v gocryptfs >/dev/null && [ "$(id -u)" = 0 ] && DRIVER=gocryptfs
LF_STORAGE_DRIVER="$DRIVER" LF_CONTAINER_RUNTIME=auto lf_start

HEALTH="$(curl -fsS "$LF_ENDPOINT/_localfargate/health")"
RUNTIME="$(echo "$HEALTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["containerRuntime"]["runtime"])')"
if [ "$RUNTIME" != crun ]; then
  echo "containers: skipped: $(echo "$HEALTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["containerRuntime"]["reason"])')"
  exit 0
fi
grep -q "container runtime: crun" "$LF_LOG" || fail "the start-up line names the runtime"
echo "ok - the server runs containers with crun"

IMG="$LF_DATA/img"
mkdir -p "$IMG"
(cd "$ROOT" && node --import tsx --input-type=module -e "import { buildBusyboxImage } from './test/support/images.ts'; await buildBusyboxImage(process.argv[1]);" "$IMG")
(cd "$ROOT" && node bin/localfargate.js image load "$IMG/image.oci.tar" --name team/web:v1 --endpoint "$LF_ENDPOINT") >/dev/null || fail "image load"
echo "ok - image loaded"

awsl ecs create-cluster --cluster-name web >/dev/null
awsl ecs register-task-definition --family web --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"web","image":"team/web:v1","portMappings":[{"containerPort":8080}],"stopTimeout":2,
    "environment":[{"name":"GREETING","value":"hello-from-the-image"}],
    "command":["echo $GREETING $(id -un) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]}]' >/dev/null
NET='awsvpcConfiguration={subnets=[subnet-12345678]}'

wait_status() { # TASK STATUS
  for _ in $(seq 1 600); do
    s="$(awsl ecs describe-tasks --cluster web --tasks "$1" --query 'tasks[0].lastStatus' --output text)"
    [ "$s" = "$2" ] && return 0
    [ "$s" = STOPPED ] && fail "task $1 stopped: $(awsl ecs describe-tasks --cluster web --tasks "$1" --query 'tasks[0].stoppedReason' --output text)"
    sleep 0.1
  done
  fail "task $1 never reached $2"
}

TASK="$(awsl ecs run-task --cluster web --task-definition web --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
wait_status "$TASK" RUNNING
IP="$(awsl ecs describe-tasks --cluster web --tasks "$TASK" --query "tasks[0].attachments[0].details[?name=='privateIPv4Address'].value | [0]" --output text)"
BODY=""
# RUNNING means httpd's process exists: on a loaded host it binds its port seconds later
fetch_index() { BODY="$(curl -fsS --max-time 2 "http://$IP:8080/index.html" 2>/dev/null)"; }
poll fetch_index || true
expect_eq "$BODY" "hello-from-the-image app" "the task's port answers at its address, as the image's user with the definition's environment"
awsl ecs stop-task --cluster web --task "$TASK" >/dev/null
for _ in $(seq 1 600); do
  [ "$(awsl ecs describe-tasks --cluster web --tasks "$TASK" --query 'tasks[0].lastStatus' --output text)" = STOPPED ] && break
  sleep 0.1
done
expect_eq "$(awsl ecs describe-tasks --cluster web --tasks "$TASK" --query 'tasks[0].stopCode' --output text)" UserInitiated "stop-task stops it"

# The task role inside the container, through 169.254.170.2 as on Fargate; its output through `localfargate logs`.
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
ROLE_ARN="$(awsl iam create-role --role-name web-task --assume-role-policy-document "$TRUST" --query Role.Arn --output text)"
awsl ecs register-task-definition --family whoami --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --task-role-arn "$ROLE_ARN" \
  --container-definitions '[{"name":"app","image":"team/web:v1","stopTimeout":2,
    "command":["wget -q -O- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; echo; echo to-stderr >&2; sleep 300"]}]' >/dev/null
TASK="$(awsl ecs run-task --cluster web --task-definition whoami --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
wait_status "$TASK" RUNNING
OUT=""
for _ in $(seq 1 100); do
  OUT="$(cd "$ROOT" && node bin/localfargate.js logs "$TASK" --endpoint "$LF_ENDPOINT" 2>/dev/null)"
  case "$OUT" in *RoleArn*) break;; esac
  sleep 0.1
done
GOT_ROLE="$(echo "$OUT" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["RoleArn"])')" || fail "credentials answer: $OUT"
expect_eq "$GOT_ROLE" "$ROLE_ARN" "the container reads its task role's credentials at 169.254.170.2"
ERR="$(cd "$ROOT" && node bin/localfargate.js logs "$TASK" --endpoint "$LF_ENDPOINT" 2>&1 >/dev/null)"
expect_eq "$ERR" "to-stderr" "localfargate logs prints the container's stderr apart"
READS="$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetTaskOutput --query 'Events[].CloudTrailEvent' --output json)"
expect_eq "$(echo "$READS" | TASK="$TASK" python3 -c 'import json,os,sys; e=[json.loads(x) for x in json.load(sys.stdin)]; print(all(r["eventSource"] == "ecs.amazonaws.com" and r["userIdentity"]["type"] == "Root" and r["resources"][0]["ARN"] == os.environ["TASK"] for r in e) and len(e) >= 2)')" \
  True "lookup-events shows each localfargate logs read as GetTaskOutput"
awsl ecs stop-task --cluster web --task "$TASK" >/dev/null

awsl ecs register-task-definition --family missing --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"team/not-loaded:v1"}]' >/dev/null
TASK="$(awsl ecs run-task --cluster web --task-definition missing --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
for _ in $(seq 1 600); do
  [ "$(awsl ecs describe-tasks --cluster web --tasks "$TASK" --query 'tasks[0].lastStatus' --output text)" = STOPPED ] && break
  sleep 0.1
done
expect_eq "$(awsl ecs describe-tasks --cluster web --tasks "$TASK" --query 'tasks[0].stopCode' --output text)" TaskFailedToStart "a missing image fails the task"
REASON="$(awsl ecs describe-tasks --cluster web --tasks "$TASK" --query 'tasks[0].stoppedReason' --output text)"
case "$REASON" in CannotPullContainerError:*docker.io/team/not-loaded:v1*) echo "ok - CannotPullContainerError";; *) fail "stoppedReason: $REASON";; esac
echo "containers: all ok"
