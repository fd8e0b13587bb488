#!/usr/bin/env bash
# Secrets Manager, SSM Parameter Store and secrets in tasks with the real AWS CLI: a secret and
# a SecureString under a customer managed key, versions and labels, scheduled deletion on the
# service clock, a task whose secret arrives in its environment (checked by hash), and the
# CloudTrail records of the KMS calls made through Secrets Manager.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lf_start
REGION="$AWS_DEFAULT_REGION"
ACCT=000000000000
PASSWORD="acceptance-pw-$RANDOM$RANDOM"

KEY_ARN="$(awsl kms create-key --description secrets --query KeyMetadata.Arn --output text)"

# --- Secrets Manager
SECRET_ARN="$(awsl secretsmanager create-secret --name app/db --kms-key-id "$KEY_ARN" \
  --secret-string "{\"password\":\"$PASSWORD\",\"user\":\"app\"}" --query ARN --output text)"
[[ "$SECRET_ARN" =~ ^arn:aws:secretsmanager:$REGION:$ACCT:secret:app/db-[A-Za-z0-9]{6}$ ]] || fail "create-secret ARN '$SECRET_ARN'"
echo "ok - create-secret $SECRET_ARN"
expect_eq "$(awsl secretsmanager get-secret-value --secret-id app/db --query SecretString --output text)" "{\"password\":\"$PASSWORD\",\"user\":\"app\"}" "get-secret-value"
expect_eq "$(awsl secretsmanager describe-secret --secret-id "$SECRET_ARN" --query KmsKeyId --output text)" "$KEY_ARN" "describe-secret names the key"
V2="$(awsl secretsmanager put-secret-value --secret-id app/db --secret-string second --query VersionId --output text)"
expect_eq "$(awsl secretsmanager get-secret-value --secret-id app/db --version-stage AWSPREVIOUS --query SecretString --output text)" \
  "{\"password\":\"$PASSWORD\",\"user\":\"app\"}" "AWSPREVIOUS after put-secret-value"
expect_eq "$(awsl secretsmanager get-secret-value --secret-id app/db --query VersionId --output text)" "$V2" "AWSCURRENT is the new version"
awsl secretsmanager update-secret-version-stage --secret-id app/db --version-stage AWSCURRENT \
  --move-to-version-id "$(awsl secretsmanager list-secret-version-ids --secret-id app/db --query "Versions[?contains(VersionStages, 'AWSPREVIOUS')].VersionId | [0]" --output text)" \
  --remove-from-version-id "$V2" >/dev/null
expect_eq "$(awsl secretsmanager get-secret-value --secret-id app/db --query 'SecretString' --output text)" "{\"password\":\"$PASSWORD\",\"user\":\"app\"}" \
  "update-secret-version-stage moves AWSCURRENT back"
expect_eq "$(awsl secretsmanager list-secrets --filters Key=name,Values=app/ --query 'length(SecretList)' --output text)" "1" "list-secrets with a name filter"
expect_error ResourceNotFoundException awsl secretsmanager get-secret-value --secret-id nope
[ "$(awsl secretsmanager get-random-password --password-length 20 --exclude-punctuation --query RandomPassword --output text | tr -d '\n' | wc -c)" = 20 ] \
  || fail "get-random-password length"
echo "ok - get-random-password"

awsl secretsmanager create-secret --name temp --secret-string t >/dev/null
awsl secretsmanager delete-secret --secret-id temp --recovery-window-in-days 7 >/dev/null
expect_error InvalidRequestException awsl secretsmanager get-secret-value --secret-id temp
lf_advance $((8 * 86400))
expect_error ResourceNotFoundException awsl secretsmanager describe-secret --secret-id temp

# --- SSM Parameter Store
expect_eq "$(awsl ssm put-parameter --name /app/token --type SecureString --key-id "$KEY_ARN" --value tok-1 --query Version --output text)" "1" "put-parameter SecureString"
awsl ssm put-parameter --name /app/token --value tok-2 --overwrite >/dev/null
expect_eq "$(awsl ssm get-parameter --name /app/token --with-decryption --query Parameter.Value --output text)" "tok-2" "get-parameter --with-decryption"
[ "$(awsl ssm get-parameter --name /app/token --query Parameter.Value --output text)" != "tok-2" ] || fail "SecureString readable without decryption"
echo "ok - SecureString without decryption is ciphertext"
awsl ssm label-parameter-version --name /app/token --parameter-version 1 --labels prod >/dev/null
expect_eq "$(awsl ssm get-parameter --name /app/token:prod --with-decryption --query Parameter.Value --output text)" "tok-1" "get-parameter by label"
awsl ssm put-parameter --name /app/host --type String --value db.local >/dev/null
expect_eq "$(awsl ssm get-parameters-by-path --path /app --query 'Parameters[].Name' --output text)" "/app/host	/app/token" "get-parameters-by-path"
expect_error ParameterAlreadyExists awsl ssm put-parameter --name /app/host --type String --value other
expect_error ParameterNotFound awsl ssm get-parameter --name /app/none

# --- a task whose secrets arrive in its environment
awsl iam create-role --role-name exec --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}' >/dev/null
awsl iam put-role-policy --role-name exec --policy-name secrets --policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","ssm:GetParameters","kms:Decrypt"],"Resource":"*"}]}'
awsl ecs create-cluster --cluster-name secrets >/dev/null
HASH="$(printf %s "$PASSWORD" | sha256sum | cut -d' ' -f1)"
CHECK="test \"\$(printf %s \"\$PW\" | sha256sum | cut -d' ' -f1)\" = $HASH && test \"\$TOKEN\" = tok-2"
CONTAINERS="$(python3 -c 'import json,sys; print(json.dumps([{"name":"app","image":"busybox","essential":True,"command":["sh","-c",sys.argv[1]],
  "secrets":[{"name":"PW","valueFrom":sys.argv[2]+":password::"},{"name":"TOKEN","valueFrom":"/app/token"}]}]))' "$CHECK" "$SECRET_ARN")"
TD="$(awsl ecs register-task-definition --family with-secrets --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --execution-role-arn "arn:aws:iam::$ACCT:role/exec" --container-definitions "$CONTAINERS" --query taskDefinition.taskDefinitionArn --output text)"
NET='awsvpcConfiguration={subnets=[subnet-12345678],securityGroups=[sg-12345678]}'
T="$(awsl ecs run-task --cluster secrets --task-definition "$TD" --launch-type FARGATE --network-configuration "$NET" --query 'tasks[0].taskArn' --output text)"
for _ in $(seq 1 300); do
  [ "$(awsl ecs describe-tasks --cluster secrets --tasks "$T" --query 'tasks[0].lastStatus' --output text)" = STOPPED ] && break
  sleep 0.1
done
expect_eq "$(awsl ecs describe-tasks --cluster secrets --tasks "$T" --query 'tasks[0].containers[0].exitCode' --output text)" "0" \
  "the task's container saw the secret and the parameter in its environment"
if awsl ecs describe-tasks --cluster secrets --tasks "$T" | grep -q "$PASSWORD"; then fail "describe-tasks shows the secret"; fi
echo "ok - describe-tasks does not show the secret"
if grep -rqa "$PASSWORD" "$LF_DATA/data"; then fail "the secret is on disk in plaintext"; fi
echo "ok - the secret is nowhere on disk in plaintext"

# --- CloudTrail: the KMS calls made through Secrets Manager, with its encryption context
awsl cloudtrail lookup-events --lookup-attributes AttributeKey=ResourceName,AttributeValue="$KEY_ARN" --max-results 50 --output json > "$LF_DATA/events.json"
python3 - "$LF_DATA/events.json" "$SECRET_ARN" <<'PY' || fail "CloudTrail records of the KMS calls"
import json, sys
events = [json.loads(e["CloudTrailEvent"]) for e in json.load(open(sys.argv[1]))["Events"]]
secret = sys.argv[2]
gen = [e for e in events if e["eventName"] == "GenerateDataKey" and e["requestParameters"]["encryptionContext"].get("SecretARN") == secret]
dec = [e for e in events if e["eventName"] == "Decrypt" and e["requestParameters"]["encryptionContext"].get("SecretARN") == secret]
assert gen and dec, (len(gen), len(dec))
assert all(e["sourceIPAddress"] == "secretsmanager.amazonaws.com" for e in gen + dec)
assert any(e["userIdentity"].get("type") == "AssumedRole" and "/exec/" in e["userIdentity"]["arn"] for e in dec), "the execution role's Decrypt"
PY
echo "ok - CloudTrail shows GenerateDataKey and Decrypt through Secrets Manager, also as the execution role"
echo "secrets acceptance: all ok"
