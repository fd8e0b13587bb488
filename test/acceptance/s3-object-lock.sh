#!/usr/bin/env bash
# S3 Object Lock with the real AWS CLI: a bucket created with Object Lock keeps versioning on, a
# default COMPLIANCE retention applies to new versions, a locked version cannot be deleted until
# its date passes on the service clock, a GOVERNANCE retention yields to the bypass, a legal hold
# holds, and it all survives a restart (docs/cloudtrail.md#s3).
source "$(dirname "$0")/lib.sh"
lf_start

BUCKET=locked-docs
WORK="$LF_DATA/work"
mkdir -p "$WORK"
echo "evidence" >"$WORK/e.txt"
awsl s3api create-bucket --bucket "$BUCKET" --object-lock-enabled-for-bucket --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
expect_eq "$(awsl s3api get-bucket-versioning --bucket "$BUCKET" --query Status --output text)" Enabled "Object Lock turns versioning on"
expect_error InvalidBucketState awsl s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Suspended
awsl s3api put-object-lock-configuration --bucket "$BUCKET" \
  --object-lock-configuration '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","Days":1}}}'
expect_eq "$(awsl s3api get-object-lock-configuration --bucket "$BUCKET" --query 'ObjectLockConfiguration.Rule.DefaultRetention.[Mode,Days]' --output text)" "COMPLIANCE	1" "default retention"

V1="$(awsl s3api put-object --bucket "$BUCKET" --key e.txt --body "$WORK/e.txt" --query VersionId --output text)"
expect_eq "$(awsl s3api head-object --bucket "$BUCKET" --key e.txt --query ObjectLockMode --output text)" COMPLIANCE "a new version gets the default retention"
expect_error AccessDenied awsl s3api delete-object --bucket "$BUCKET" --key e.txt --version-id "$V1" --bypass-governance-retention
expect_error AccessDenied awsl s3api put-object-retention --bucket "$BUCKET" --key e.txt --version-id "$V1" --bypass-governance-retention --retention '{"Mode":"GOVERNANCE","RetainUntilDate":"2099-01-01T00:00:00Z"}'

V2="$(awsl s3api put-object --bucket "$BUCKET" --key g.txt --body "$WORK/e.txt" --object-lock-mode GOVERNANCE --object-lock-retain-until-date 2099-01-01T00:00:00Z --query VersionId --output text)"
expect_error AccessDenied awsl s3api delete-object --bucket "$BUCKET" --key g.txt --version-id "$V2"
V3="$(awsl s3api put-object --bucket "$BUCKET" --key h.txt --body "$WORK/e.txt" --object-lock-legal-hold-status ON --query VersionId --output text)"
expect_eq "$(awsl s3api get-object-legal-hold --bucket "$BUCKET" --key h.txt --query LegalHold.Status --output text)" ON "legal hold on"

lf_stop
lf_start
expect_error AccessDenied awsl s3api delete-object --bucket "$BUCKET" --key e.txt --version-id "$V1"
expect_eq "$(awsl s3api get-object-retention --bucket "$BUCKET" --key e.txt --query Retention.Mode --output text)" COMPLIANCE "retention survives a restart"
expect_error InvalidBucketState awsl s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Suspended

awsl s3api delete-object --bucket "$BUCKET" --key g.txt --version-id "$V2" --bypass-governance-retention >/dev/null
echo "ok - GOVERNANCE yields to the bypass"
lf_advance 90000
expect_error AccessDenied awsl s3api delete-object --bucket "$BUCKET" --key h.txt --version-id "$V3"
awsl s3api put-object-legal-hold --bucket "$BUCKET" --key h.txt --version-id "$V3" --legal-hold Status=OFF
awsl s3api delete-object --bucket "$BUCKET" --key h.txt --version-id "$V3" >/dev/null
awsl s3api delete-object --bucket "$BUCKET" --key e.txt --version-id "$V1" >/dev/null
echo "ok - versions are deleted once the retention has passed and the hold is off"
awsl s3api delete-bucket --bucket "$BUCKET"
echo "ok - the emptied bucket is deleted"
