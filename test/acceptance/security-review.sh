#!/usr/bin/env bash
# A security review with the real AWS CLI: an account seeded as a review would find it (access
# keys used and never used and one past 90 days, KMS keys with and without rotation, a key policy
# open to everyone, a task definition with a secret in its environment, a trail without log file
# validation, an administrator without MFA who leaves most services the policy allows unused, no
# password policy, a server certificate left to expire, a signing certificate and an SSH key),
# then what each read-only call a scanner makes reports about it.
source "$(dirname "$0")/lib.sh"
lf_start

REGION="$AWS_DEFAULT_REGION"
ACCOUNT=000000000000
BUCKET=review-trail-logs
WORK="$LF_DATA/work"
mkdir -p "$WORK"
doc() { echo "{\"Version\":\"2012-10-17\",\"Statement\":[$1]}"; }

# --- seed --------------------------------------------------------------------------------------
awsl iam create-user --user-name admin >/dev/null
awsl iam attach-user-policy --user-name admin --policy-arn arn:aws:iam::aws:policy/AdministratorAccess
awsl iam create-login-profile --user-name admin --password 'Admin-Console-1' >/dev/null
awsl iam create-user --user-name deployer >/dev/null
awsl iam put-user-policy --user-name deployer --policy-name sts --policy-document "$(doc '{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}')"
OLD_KEY="$(awsl iam create-access-key --user-name deployer --query AccessKey.AccessKeyId --output text)"
lf_advance $((100 * 86400))
USED="$(awsl iam create-access-key --user-name admin --output json)"
USED_ID="$(echo "$USED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKey"]["AccessKeyId"])')"
USED_SECRET="$(echo "$USED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKey"]["SecretAccessKey"])')"
AWS_ACCESS_KEY_ID="$USED_ID" AWS_SECRET_ACCESS_KEY="$USED_SECRET" awsl sts get-caller-identity >/dev/null

ROTATED="$(awsl kms create-key --description rotated --query KeyMetadata.KeyId --output text)"
awsl kms enable-key-rotation --key-id "$ROTATED"
UNROTATED="$(awsl kms create-key --description unrotated --query KeyMetadata.KeyId --output text)"
PUBLIC="$(awsl kms create-key --description public --query KeyMetadata.KeyId --output text)"
awsl kms put-key-policy --key-id "$PUBLIC" --policy-name default --policy "$(doc '{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::'$ACCOUNT':root"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}')"

awsl ecs register-task-definition --family leaky --requires-compatibilities FARGATE --network-mode awsvpc --cpu 256 --memory 512 \
  --container-definitions '[{"name":"app","image":"busybox","essential":true,"environment":[{"name":"DB_PASSWORD","value":"hunter2"}]}]' >/dev/null

awsl s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
awsl s3api put-bucket-policy --bucket "$BUCKET" --policy "$(doc '{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::'$BUCKET'"},{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::'$BUCKET'/AWSLogs/'$ACCOUNT'/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}')"
awsl cloudtrail create-trail --name unvalidated --s3-bucket-name "$BUCKET" >/dev/null

# a server certificate left to expire (120 days from now by the wall clock; the server clock is
# already 100 days ahead and moves 40 more), and a signing certificate and an SSH key the deployer still has
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=old.example.com -days 120 \
  -keyout "$WORK/old.key" -out "$WORK/old.crt" 2>/dev/null
awsl iam upload-server-certificate --server-certificate-name old-site --certificate-body "file://$WORK/old.crt" --private-key "file://$WORK/old.key" >/dev/null
awsl iam upload-signing-certificate --user-name deployer --certificate-body "file://$WORK/old.crt" >/dev/null
ssh-keygen -q -t rsa -b 2048 -N "" -C deployer -f "$WORK/deployer_ssh"
awsl iam upload-ssh-public-key --user-name deployer --ssh-public-key-body "file://$WORK/deployer_ssh.pub" >/dev/null
lf_advance $((40 * 86400))

# --- IAM: account-wide reads -------------------------------------------------------------------
expect_error NoSuchEntity awsl iam get-account-password-policy
summary="$(awsl iam get-account-summary --query 'SummaryMap.[Users,AccountMFAEnabled,AccountAccessKeysPresent,MFADevicesInUse]' --output text)"
expect_eq "$summary" "2	0	1	0" "get-account-summary: two users, no root MFA, root keys present, no MFA device in use"
expect_eq "$(awsl iam list-account-aliases --query 'length(AccountAliases)' --output text)" 0 "list-account-aliases: none"
expect_eq "$(awsl iam list-mfa-devices --user-name admin --query 'length(MFADevices)' --output text)" 0 "the administrator has no MFA device"
expect_eq "$(awsl iam get-login-profile --user-name admin --query LoginProfile.UserName --output text)" admin "the administrator has a console password"
admins="$(awsl iam list-entities-for-policy --policy-arn arn:aws:iam::aws:policy/AdministratorAccess --query 'PolicyUsers[].UserName' --output text)"
expect_eq "$admins" admin "list-entities-for-policy: who has AdministratorAccess"
gaad="$(awsl iam get-account-authorization-details --filter User --output json | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(" ".join(sorted(u["UserName"]+":"+",".join(p["PolicyName"] for p in u["AttachedManagedPolicies"]) for u in d["UserDetailList"])))')"
expect_eq "$gaad" "admin:AdministratorAccess deployer:" "get-account-authorization-details: users and their managed policies"

expect_error ReportNotPresent awsl iam get-credential-report
expect_eq "$(awsl iam generate-credential-report --query State --output text)" STARTED "generate-credential-report starts"
awsl iam get-credential-report --query Content --output text | base64 -d >"$WORK/report.csv"
report="$(python3 - "$WORK/report.csv" "$OLD_KEY" <<'PY'
import csv, sys
rows = {r["user"]: r for r in csv.DictReader(open(sys.argv[1]))}
a, d = rows["admin"], rows["deployer"]
print(a["password_enabled"], a["mfa_active"], a["access_key_1_active"], a["access_key_1_last_used_service"],
      d["password_enabled"], d["access_key_1_active"], d["access_key_1_last_used_date"], d["access_key_1_last_rotated"][:4] != "N/A", "<root_account>" in rows)
PY
)"
expect_eq "$report" "true false true sts false true N/A True True" "credential report: admin with a password, no MFA, a used key; deployer's key never used"
rotated_days="$(python3 - "$WORK/report.csv" <<'PY'
import csv, sys, datetime
rows = {r["user"]: r for r in csv.DictReader(open(sys.argv[1]))}
admin = datetime.datetime.fromisoformat(rows["admin"]["access_key_1_last_rotated"])
deployer = datetime.datetime.fromisoformat(rows["deployer"]["access_key_1_last_rotated"])
print((admin - deployer).days)
PY
)"
expect_eq "$rotated_days" 100 "credential report: the deployer's key was last rotated 100 days before the admin's"
expect_eq "$(python3 -c 'import csv,sys; r={x["user"]:x for x in csv.DictReader(open(sys.argv[1]))}; print(r["deployer"]["cert_1_active"], r["admin"]["cert_1_active"])' "$WORK/report.csv")" \
  "true false" "credential report: the deployer has an active signing certificate"

# --- IAM: certificates and SSH keys --------------------------------------------------------------
expect_eq "$(awsl iam get-account-summary --query 'SummaryMap.ServerCertificates' --output text)" 1 "get-account-summary counts the server certificate"
not_after="$(openssl x509 -in "$WORK/old.crt" -noout -enddate | cut -d= -f2)"
listed="$(awsl iam list-server-certificates --query 'ServerCertificateMetadataList[0].Expiration' --output text)"
expect_eq "$(python3 -c 'import sys,datetime; print(datetime.datetime.fromisoformat(sys.argv[2].replace("Z","+00:00")) == datetime.datetime.strptime(sys.argv[1], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc))' "$not_after" "$listed")" \
  True "list-server-certificates: Expiration is the certificate's Not After"
expect_error MalformedCertificate awsl iam upload-server-certificate --server-certificate-name renewed --certificate-body "file://$WORK/old.crt" --private-key "file://$WORK/old.key"
expect_eq "$(awsl iam get-server-certificate --server-certificate-name old-site --output json | grep -c 'PRIVATE KEY' || true)" 0 "get-server-certificate never returns the private key"
fingerprint="$(ssh-keygen -l -E md5 -f "$WORK/deployer_ssh.pub" | sed -E 's/.*MD5:([0-9a-f:]+).*/\1/')"
key_id="$(awsl iam list-ssh-public-keys --user-name deployer --query 'SSHPublicKeys[0].SSHPublicKeyId' --output text)"
expect_eq "$(awsl iam get-ssh-public-key --user-name deployer --ssh-public-key-id "$key_id" --encoding SSH --query SSHPublicKey.Fingerprint --output text)" \
  "$fingerprint" "get-ssh-public-key: the MD5 fingerprint ssh-keygen shows"
expect_error DeleteConflict awsl iam delete-user --user-name deployer

# --- IAM: service last accessed ------------------------------------------------------------------
JOB="$(awsl iam generate-service-last-accessed-details --arn "arn:aws:iam::$ACCOUNT:user/admin" --query JobId --output text)"
STATUS=IN_PROGRESS
for _ in $(seq 50); do
  STATUS="$(awsl iam get-service-last-accessed-details --job-id "$JOB" --query JobStatus --output text)"
  [ "$STATUS" = COMPLETED ] && break
  sleep 0.2
done
expect_eq "$STATUS" COMPLETED "get-service-last-accessed-details: the job completes"
access="$(awsl iam get-service-last-accessed-details --job-id "$JOB" --output json | python3 -c '
import json,sys
d=json.load(sys.stdin)["ServicesLastAccessed"]
used=sorted(s["ServiceNamespace"]+"@"+s["LastAuthenticatedRegion"] for s in d if "LastAuthenticated" in s)
unused={s["ServiceNamespace"] for s in d if "LastAuthenticated" not in s}
print(" ".join(used), "kms" in unused and "ecs" in unused)')"
expect_eq "$access" "sts@$REGION True" "service last accessed: the administrator used only STS; KMS and ECS are allowed but unused"
users="$(awsl iam get-service-last-accessed-details-with-entities --job-id "$JOB" --service-namespace sts --query 'EntityDetailsList[].EntityInfo.Name' --output text)"
expect_eq "$users" admin "get-service-last-accessed-details-with-entities: who used STS"

# --- KMS -----------------------------------------------------------------------------------------
expect_eq "$(awsl kms get-key-rotation-status --key-id "$ROTATED" --query KeyRotationEnabled --output text)" True "the rotated key rotates"
expect_eq "$(awsl kms get-key-rotation-status --key-id "$UNROTATED" --query KeyRotationEnabled --output text)" False "the other key does not"
public="$(awsl kms get-key-policy --key-id "$PUBLIC" --policy-name default --query Policy --output text | python3 -c 'import json,sys; print([s["Principal"] for s in json.load(sys.stdin)["Statement"]].count("*"))')"
expect_eq "$public" 1 "get-key-policy shows the statement open to every principal"

# --- ECS -----------------------------------------------------------------------------------------
env_secret="$(awsl ecs describe-task-definition --task-definition leaky --query 'taskDefinition.containerDefinitions[0].environment[0].name' --output text)"
expect_eq "$env_secret" DB_PASSWORD "describe-task-definition shows the secret in the environment"

# --- CloudTrail ----------------------------------------------------------------------------------
expect_eq "$(awsl cloudtrail get-trail --name unvalidated --query 'Trail.[LogFileValidationEnabled,HasInsightSelectors]' --output text)" "False	False" "get-trail: no log file validation, no Insights"
expect_eq "$(awsl cloudtrail list-trails --query 'Trails[].Name' --output text)" unvalidated "list-trails"
expect_error InsightNotEnabledException awsl cloudtrail get-insight-selectors --trail-name unvalidated
expect_eq "$(awsl cloudtrail get-trail-status --name unvalidated --query IsLogging --output text)" False "the trail is not logging"

# --- S3 ------------------------------------------------------------------------------------------
expect_eq "$(awsl s3api get-bucket-encryption --bucket "$BUCKET" --query 'ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm' --output text)" AES256 "default encryption SSE-S3"
expect_eq "$(awsl s3api get-public-access-block --bucket "$BUCKET" --query 'PublicAccessBlockConfiguration.BlockPublicPolicy' --output text)" True "Block Public Access on"
expect_eq "$(awsl s3api get-bucket-versioning --bucket "$BUCKET" --query Status --output text)" None "versioning never enabled"
expect_eq "$(awsl s3api get-bucket-ownership-controls --bucket "$BUCKET" --query 'OwnershipControls.Rules[0].ObjectOwnership' --output text)" BucketOwnerEnforced "Object Ownership"
expect_eq "$(awsl s3api get-bucket-acl --bucket "$BUCKET" --query 'Grants[0].Permission' --output text)" FULL_CONTROL "the owner's ACL grant"
expect_eq "$(awsl s3api get-bucket-logging --bucket "$BUCKET" --query LoggingEnabled --output text)" None "no server access logging"
expect_error NoSuchTagSet awsl s3api get-bucket-tagging --bucket "$BUCKET"
expect_error NoSuchLifecycleConfiguration awsl s3api get-bucket-lifecycle-configuration --bucket "$BUCKET"
expect_error ObjectLockConfigurationNotFoundError awsl s3api get-object-lock-configuration --bucket "$BUCKET"
expect_error ReplicationConfigurationNotFoundError awsl s3api get-bucket-replication --bucket "$BUCKET"
# event history names those reads as CloudTrail does, not as the API does
expect_eq "$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetBucketPublicAccessBlock --query 'length(Events)' --output text)" 1 \
  "lookup-events: get-public-access-block is recorded as GetBucketPublicAccessBlock"
expect_eq "$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetBucketLifecycle --query 'Events[0].CloudTrailEvent' --output text |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["errorCode"])')" NoSuchLifecycleConfiguration \
  "lookup-events: get-bucket-lifecycle-configuration is recorded as GetBucketLifecycle"
expect_eq "$(awsl cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetPublicAccessBlock --query 'length(Events)' --output text)" 0 \
  "no event carries the API name GetPublicAccessBlock"

# --- the review's fixes, checked the same way ----------------------------------------------------
awsl iam update-account-password-policy --minimum-password-length 14 --require-symbols --require-numbers --max-password-age 90
expect_error PasswordPolicyViolation awsl iam update-login-profile --user-name admin --password 'Short-1'
expect_eq "$(awsl iam get-account-password-policy --query 'PasswordPolicy.[MinimumPasswordLength,ExpirePasswords]' --output text)" "14	True" "the password policy is set"
# a stored HTML object opened at a presigned URL is sandboxed: it cannot run as the console's origin
printf '<script>alert(1)</script>' > "$LF_DATA/page.html"
awsl s3api put-object --bucket "$BUCKET" --key page.html --content-type text/html --body "$LF_DATA/page.html" >/dev/null
# (the CLI presigns with SigV2 unless told s3v4)
printf '[default]\ns3 =\n    signature_version = s3v4\n' > "$LF_DATA/s3v4.config"
URL="$(AWS_CONFIG_FILE="$LF_DATA/s3v4.config" awsl s3 presign "s3://$BUCKET/page.html")"
HEADERS="$(curl -fsS -o /dev/null -D - "$URL" | tr -d '\r' | tr 'A-Z' 'a-z')"
echo "$HEADERS" | grep -qx 'content-security-policy: sandbox' || fail "the object has no CSP sandbox: $HEADERS"
echo "$HEADERS" | grep -qx 'x-content-type-options: nosniff' || fail "the object has no nosniff: $HEADERS"
echo "ok - a stored HTML object is served sandboxed"
echo "security review: all checks passed"
