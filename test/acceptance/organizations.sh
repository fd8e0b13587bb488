#!/usr/bin/env bash
# Organizations with the real AWS CLI: an organization, an OU and a member account made by
# create-account; the seed's ECS key policy as an SCP on the OU; in the member account (reached
# with assume-role through OrganizationAccountAccessRole) create-cluster without the key is
# refused by the SCP and with the key succeeds, and lookup-events shows both; a tag policy read
# back as the member's effective policy, and one left without a compliant value listed as invalid;
# a delegated administrator and the delegation policy; an organization trail.
source "$(dirname "$0")/lib.sh"
lf_start
MGMT=000000000000
REGION="$AWS_DEFAULT_REGION"
CLUSTER=cmk-cluster

ORG_ID="$(awsl organizations create-organization --feature-set ALL --query Organization.Id --output text)"
expect_eq "$(awsl organizations describe-organization --query Organization.MasterAccountId --output text)" "$MGMT" "the caller's account manages the organization"
expect_error AlreadyInOrganizationException awsl organizations create-organization
ROOT_ID="$(awsl organizations list-roots --query 'Roots[0].Id' --output text)"
OU_ID="$(awsl organizations create-organizational-unit --parent-id "$ROOT_ID" --name workloads --query OrganizationalUnit.Id --output text)"

REQ="$(awsl organizations create-account --account-name workloads --email workloads@example.com --query CreateAccountStatus.Id --output text)"
STATE=""
for _ in $(seq 1 50); do
  STATE="$(awsl organizations describe-create-account-status --create-account-request-id "$REQ" --query CreateAccountStatus.State --output text)"
  [ "$STATE" = "IN_PROGRESS" ] || break
  sleep 0.1
done
expect_eq "$STATE" "SUCCEEDED" "create-account succeeds"
MEMBER="$(awsl organizations describe-create-account-status --create-account-request-id "$REQ" --query CreateAccountStatus.AccountId --output text)"
awsl organizations move-account --account-id "$MEMBER" --source-parent-id "$ROOT_ID" --destination-parent-id "$OU_ID"
expect_eq "$(awsl organizations list-parents --child-id "$MEMBER" --query 'Parents[0].Id' --output text)" "$OU_ID" "the account is in the OU"

# an IAM user of the management account assumes OrganizationAccountAccessRole in the member account
awsl iam create-user --user-name org-admin >/dev/null
awsl iam put-user-policy --user-name org-admin --policy-name admin \
  --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
read -r ADMIN_KEY ADMIN_SECRET < <(awsl iam create-access-key --user-name org-admin --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
read -r M_KEY M_SECRET M_TOKEN < <(AWS_ACCESS_KEY_ID="$ADMIN_KEY" AWS_SECRET_ACCESS_KEY="$ADMIN_SECRET" awsl sts assume-role \
  --role-arn "arn:aws:iam::$MEMBER:role/OrganizationAccountAccessRole" --role-session-name ops \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
member() { AWS_ACCESS_KEY_ID="$M_KEY" AWS_SECRET_ACCESS_KEY="$M_SECRET" AWS_SESSION_TOKEN="$M_TOKEN" awsl "$@"; }
expect_eq "$(member sts get-caller-identity --query Account --output text)" "$MEMBER" "assume-role gives credentials in the member account"
# IAM is global: its events are in us-east-1
ROLE_EVENTS="$(member cloudtrail lookup-events --region us-east-1 --lookup-attributes AttributeKey=EventName,AttributeValue=CreateRole --query 'Events[].CloudTrailEvent' --output json)"
expect_eq "$(echo "$ROLE_EVENTS" | python3 -c 'import json,sys; e=[json.loads(x) for x in json.load(sys.stdin)]; print(len(e), e[0]["userIdentity"]["invokedBy"], e[0]["requestParameters"]["roleName"])')" \
  "1 organizations.amazonaws.com OrganizationAccountAccessRole" "the member account's CloudTrail shows Organizations creating its access role"

# the member account's own key for Fargate ephemeral storage (the ECS documentation's key policy)
KEY_POLICY="$(cat <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$MEMBER:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"Fargate data keys","Effect":"Allow","Principal":{"Service":"fargate.amazonaws.com"},"Action":["kms:GenerateDataKeyWithoutPlaintext"],
  "Condition":{"StringEquals":{"kms:EncryptionContext:aws:ecs:clusterAccount":["$MEMBER"],"kms:EncryptionContext:aws:ecs:clusterName":["$CLUSTER"]}},"Resource":"*"},
 {"Sid":"Fargate grants","Effect":"Allow","Principal":{"Service":"fargate.amazonaws.com"},"Action":["kms:CreateGrant"],
  "Condition":{"StringEquals":{"kms:EncryptionContext:aws:ecs:clusterAccount":["$MEMBER"],"kms:EncryptionContext:aws:ecs:clusterName":["$CLUSTER"]},
               "ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt"]}},"Resource":"*"}
]}
EOF
)"
KEY_ARN="$(member kms create-key --policy "$KEY_POLICY" --query KeyMetadata.Arn --output text)"

# the seed's IAM policy as an SCP, beside one that allows everything else, in place of FullAWSAccess
SEED="{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ecs:CreateCluster\"],\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"ecs:fargate-ephemeral-storage-kms-key\":\"$KEY_ARN\"}}}]}"
REST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["ecs:CreateCluster"],"Resource":"*"}]}'
expect_error PolicyTypeNotEnabledException awsl organizations attach-policy --policy-id p-FullAWSAccess --target-id "$OU_ID"
awsl organizations enable-policy-type --root-id "$ROOT_ID" --policy-type SERVICE_CONTROL_POLICY >/dev/null
expect_error MalformedPolicyDocumentException awsl organizations create-policy --name broken --description x --type SERVICE_CONTROL_POLICY --content '{"Statement":'
SEED_ID="$(awsl organizations create-policy --name require-fargate-cmk --description "seed" --type SERVICE_CONTROL_POLICY --content "$SEED" --query Policy.PolicySummary.Id --output text)"
REST_ID="$(awsl organizations create-policy --name everything-else --description "all but CreateCluster" --type SERVICE_CONTROL_POLICY --content "$REST" --query Policy.PolicySummary.Id --output text)"
awsl organizations attach-policy --policy-id "$SEED_ID" --target-id "$OU_ID"
awsl organizations attach-policy --policy-id "$REST_ID" --target-id "$OU_ID"
expect_error DuplicatePolicyAttachmentException awsl organizations attach-policy --policy-id "$SEED_ID" --target-id "$OU_ID"
awsl organizations detach-policy --policy-id p-FullAWSAccess --target-id "$OU_ID"

# refused without the key, with AWS's message
if OUT="$(member ecs create-cluster --cluster-name "$CLUSTER" 2>&1)"; then fail "create-cluster without the key succeeded"; fi
echo "$OUT" | grep -q "(AccessDeniedException)" || fail "expected AccessDeniedException, got: $OUT"
echo "$OUT" | grep -q "is not authorized to perform: ecs:CreateCluster on resource: arn:aws:ecs:$REGION:$MEMBER:cluster/$CLUSTER with an explicit deny in a service control policy" \
  || fail "expected the SCP denial message, got: $OUT"
echo "ok - the SCP refuses create-cluster without the key"

# allowed with the key
GOT="$(member ecs create-cluster --cluster-name "$CLUSTER" \
  --configuration "{\"managedStorageConfiguration\":{\"fargateEphemeralStorageKmsKeyId\":\"$KEY_ARN\"}}" --query cluster.status --output text)"
expect_eq "$GOT" "ACTIVE" "the SCP allows create-cluster with the key"

# the management account is beyond SCPs, even the seed's policy attached to it in place of FullAWSAccess
awsl organizations attach-policy --policy-id "$SEED_ID" --target-id "$MGMT"
awsl organizations detach-policy --policy-id p-FullAWSAccess --target-id "$MGMT"
expect_eq "$(awsl ecs create-cluster --cluster-name no-key --query cluster.status --output text)" "ACTIVE" "SCPs do not apply to the management account"

# both calls are in the member account's event history
EVENTS="$(member cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=CreateCluster --query 'Events[].CloudTrailEvent' --output json)"
count() { echo "$EVENTS" | python3 -c "import json,sys; print(sum(1 for e in map(json.loads, json.load(sys.stdin)) if $1))"; }
expect_eq "$(count 'e.get("errorCode") == "AccessDeniedException"')" "1" "lookup-events shows the refusal"
expect_eq "$(count '"errorCode" not in e')" "1" "lookup-events shows the success"
expect_eq "$(count "e['recipientAccountId'] == '$MEMBER'")" "2" "the events are the member account's"

# --- a tag policy inherited root → OU → account, read back as the member's effective policy (kept, not enforced) ---
awsl organizations enable-policy-type --root-id "$ROOT_ID" --policy-type TAG_POLICY >/dev/null
expect_error MalformedPolicyDocumentException awsl organizations create-policy --name bad-tags --description x --type TAG_POLICY \
  --content '{"tags":{"costcenter":{"tag_value":{"@@append":"100"}}}}'
TAGS_ROOT="$(awsl organizations create-policy --name cost-center --description root --type TAG_POLICY \
  --content '{"tags":{"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["100","200"]}}}}' --query Policy.PolicySummary.Id --output text)"
TAGS_OU="$(awsl organizations create-policy --name cost-center-ou --description ou --type TAG_POLICY \
  --content '{"tags":{"costcenter":{"tag_value":{"@@remove":["100"]}}}}' --query Policy.PolicySummary.Id --output text)"
awsl organizations attach-policy --policy-id "$TAGS_ROOT" --target-id "$ROOT_ID"
awsl organizations attach-policy --policy-id "$TAGS_OU" --target-id "$OU_ID"
expect_eq "$(member organizations describe-effective-policy --policy-type TAG_POLICY --query EffectivePolicy.PolicyContent --output text)" \
  '{"tags":{"costcenter":{"tag_key":"CostCenter","tag_value":["200"]}}}' "the member reads its effective tag policy"
expect_error EffectivePolicyNotFoundException awsl organizations describe-effective-policy --policy-type BACKUP_POLICY --target-id "$MEMBER"

# --- an effective tag policy left without a compliant value is invalid, and said to be ---
expect_eq "$(awsl organizations list-accounts-with-invalid-effective-policy --policy-type TAG_POLICY --query 'length(Accounts)' --output text)" "0" "no invalid effective tag policy yet"
TAGS_NONE="$(awsl organizations create-policy --name cost-center-none --description none --type TAG_POLICY \
  --content '{"tags":{"costcenter":{"tag_value":{"@@remove":["200"]}}}}' --query Policy.PolicySummary.Id --output text)"
awsl organizations attach-policy --policy-id "$TAGS_NONE" --target-id "$MEMBER"
expect_eq "$(awsl organizations list-accounts-with-invalid-effective-policy --policy-type TAG_POLICY --query 'Accounts[].Id' --output text)" "$MEMBER" \
  "the member's effective tag policy is invalid"
expect_eq "$(awsl organizations list-effective-policy-validation-errors --account-id "$MEMBER" --policy-type TAG_POLICY \
  --query 'EffectivePolicyValidationErrors[0].[ErrorCode,PathToError]' --output text)" "$(printf 'ELEMENTS_TOO_FEW\ttags.costcenter.tag_value')" "and why"
expect_error AccessDeniedException member organizations list-accounts-with-invalid-effective-policy --policy-type TAG_POLICY
awsl organizations detach-policy --policy-id "$TAGS_NONE" --target-id "$MEMBER"

# --- delegated administration: read-only Organizations access, then the delegation policy ---
expect_error AccessDeniedException member organizations list-accounts
expect_error ConstraintViolationException awsl organizations register-delegated-administrator --account-id "$MEMBER" --service-principal config.amazonaws.com
awsl organizations enable-aws-service-access --service-principal config.amazonaws.com
awsl organizations register-delegated-administrator --account-id "$MEMBER" --service-principal config.amazonaws.com
expect_error AccountAlreadyRegisteredException awsl organizations register-delegated-administrator --account-id "$MEMBER" --service-principal config.amazonaws.com
expect_eq "$(member organizations list-accounts --query 'length(Accounts)' --output text)" "2" "the delegated administrator lists the accounts"
expect_eq "$(member organizations list-delegated-services-for-account --account-id "$MEMBER" --query 'DelegatedServices[0].ServicePrincipal' --output text)" "config.amazonaws.com" "and its own delegations"
expect_error AccessDeniedException member organizations create-organizational-unit --parent-id "$ROOT_ID" --name mine
expect_error AccessDeniedException member organizations create-policy --name by-member --description x --type TAG_POLICY --content '{"tags":{}}'
expect_error ConstraintViolationException awsl organizations remove-account-from-organization --account-id "$MEMBER"
expect_error ResourcePolicyNotFoundException awsl organizations describe-resource-policy
expect_error InvalidInputException awsl organizations put-resource-policy --content '{"Statement":'
awsl organizations put-resource-policy --content "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$MEMBER:root\"},\"Action\":\"organizations:CreatePolicy\",\"Resource\":\"*\"}]}" >/dev/null
expect_eq "$(member organizations describe-resource-policy --query 'ResourcePolicy.ResourcePolicySummary.Id' --output text | cut -c1-3)" "rp-" "the delegated administrator reads the delegation policy"
expect_eq "$(member organizations create-policy --name by-member --description delegated --type TAG_POLICY --content '{"tags":{}}' --query Policy.PolicySummary.Name --output text)" "by-member" "the delegation policy lets the member create policies"
awsl organizations delete-resource-policy
awsl organizations deregister-delegated-administrator --account-id "$MEMBER" --service-principal config.amazonaws.com
expect_error AccessDeniedException member organizations list-accounts

# --- an organization trail logs the member account's events, and validate-logs accepts them ---
# validate-logs passes --endpoint-url to its CloudTrail client only; its S3 and Organizations clients read this.
export AWS_ENDPOINT_URL="$LF_ENDPOINT"
service_now() { curl -fsS "$LF_ENDPOINT/_localfargate/clock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["now"])'; }
BUCKET=org-trail-logs
awsl s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
# the bucket policy AWS documents for an organization trail: CloudTrail writes under AWSLogs/<organization id>/
awsl s3api put-bucket-policy --bucket "$BUCKET" --policy "{\"Version\":\"2012-10-17\",\"Statement\":[
 {\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:GetBucketAcl\",\"Resource\":\"arn:aws:s3:::$BUCKET\"},
 {\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"cloudtrail.amazonaws.com\"},\"Action\":\"s3:PutObject\",\"Resource\":[\"arn:aws:s3:::$BUCKET/AWSLogs/$ORG_ID/*\",\"arn:aws:s3:::$BUCKET/AWSLogs/$MGMT/*\"],\"Condition\":{\"StringEquals\":{\"s3:x-amz-acl\":\"bucket-owner-full-control\"}}}]}"
expect_error CloudTrailAccessNotEnabledException awsl cloudtrail create-trail --name org --s3-bucket-name "$BUCKET" --is-organization-trail
awsl organizations enable-aws-service-access --service-principal cloudtrail.amazonaws.com
expect_error NotOrganizationMasterAccountException member cloudtrail create-trail --name org --s3-bucket-name "$BUCKET" --is-organization-trail
START="$(service_now)"
TRAIL_ARN="$(awsl cloudtrail create-trail --name org --s3-bucket-name "$BUCKET" --is-organization-trail --enable-log-file-validation --query TrailARN --output text)"
expect_eq "$(awsl cloudtrail get-trail --name org --query Trail.IsOrganizationTrail --output text)" "True" "the trail is an organization trail"
awsl cloudtrail start-logging --name org
for _ in 1 2; do member sts get-caller-identity >/dev/null; done
lf_advance 600
MEMBER_LOG="$(awsl s3api list-objects --bucket "$BUCKET" --prefix "AWSLogs/$ORG_ID/$MEMBER/CloudTrail/$REGION/" --query 'Contents[0].Key' --output text)"
[[ "$MEMBER_LOG" =~ ^AWSLogs/$ORG_ID/$MEMBER/CloudTrail/$REGION/[0-9]{4}/[0-9]{2}/[0-9]{2}/${MEMBER}_CloudTrail_${REGION}_ ]] || fail "member log file key: $MEMBER_LOG"
echo "ok - the member account's events are delivered under AWSLogs/$ORG_ID/$MEMBER/"
lf_advance 3600
END="$(service_now)"
out="$(aws cloudtrail validate-logs --trail-arn "$TRAIL_ARN" --account-id "$MEMBER" --start-time "$START" --end-time "$END" 2>&1)" || fail "validate-logs failed: $out"
echo "$out" | grep -Eq "([0-9]+)/\1 digest files valid" || fail "digests not all valid: $out"
echo "$out" | grep -Eq "([1-9][0-9]*)/\1 log files valid" || fail "log files not all valid: $out"
echo "ok - validate-logs --account-id $MEMBER: $(echo "$out" | grep -E 'files valid' | tr '\n' ' ')"

# --- a closed account is closed: its root is refused, its role cannot be assumed, it leaves after 90 days ---
member_root() { AWS_ACCESS_KEY_ID="$MEMBER" AWS_SECRET_ACCESS_KEY=test awsl "$@"; }
org_admin() { AWS_ACCESS_KEY_ID="$ADMIN_KEY" AWS_SECRET_ACCESS_KEY="$ADMIN_SECRET" awsl "$@"; }
awsl organizations close-account --account-id "$MEMBER"
expect_eq "$(awsl organizations describe-account --account-id "$MEMBER" --query 'Account.[Status,State]' --output text)" "SUSPENDED	CLOSED" "the closed account is SUSPENDED / CLOSED"
expect_error InvalidClientTokenId member_root sts get-caller-identity
expect_error AccessDenied org_admin sts assume-role --role-arn "arn:aws:iam::$MEMBER:role/OrganizationAccountAccessRole" --role-session-name ops
lf_advance $((90 * 86400))
awsl organizations list-accounts --query 'Accounts[].Id' --output text | grep -qw "$MEMBER" && fail "the closed account is still listed after 90 days"
echo "ok - 90 days after closing, $MEMBER has left the organization"
expect_error InvalidClientTokenId member_root sts get-caller-identity
echo "organization $ORG_ID: all ok"
