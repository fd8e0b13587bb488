#!/usr/bin/env bash
# S3 object versions, Block Public Access and SSE-S3 with the real AWS CLI: a versioned bucket
# keeps every put, a delete leaves a delete marker, versions survive a restart, delete-objects
# removes them; a public bucket policy and a public ACL are refused (docs/cloudtrail.md#s3).
source "$(dirname "$0")/lib.sh"
lf_start

BUCKET=versioned-docs
WORK="$LF_DATA/work"
mkdir -p "$WORK"
awsl s3api create-bucket --bucket "$BUCKET" --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
awsl s3api put-bucket-versioning --bucket "$BUCKET" --versioning-configuration Status=Enabled
expect_eq "$(awsl s3api get-bucket-versioning --bucket "$BUCKET" --query Status --output text)" Enabled "versioning enabled"

echo "first" >"$WORK/v1.txt"
echo "second" >"$WORK/v2.txt"
V1="$(awsl s3api put-object --bucket "$BUCKET" --key doc.txt --body "$WORK/v1.txt" --query VersionId --output text)"
V2="$(awsl s3api put-object --bucket "$BUCKET" --key doc.txt --body "$WORK/v2.txt" --query VersionId --output text)"
[ "$V1" != "$V2" ] || fail "two puts made one version"
awsl s3api get-object --bucket "$BUCKET" --key doc.txt --version-id "$V1" "$WORK/out.txt" >/dev/null
expect_eq "$(cat "$WORK/out.txt")" first "get-object --version-id reads the first version"
expect_eq "$(awsl s3api head-object --bucket "$BUCKET" --key doc.txt --query '[VersionId,ServerSideEncryption]' --output text)" "$V2	AES256" "head-object: the latest version, SSE-S3"

MARKER="$(awsl s3api delete-object --bucket "$BUCKET" --key doc.txt --query VersionId --output text)"
expect_error NoSuchKey awsl s3api get-object --bucket "$BUCKET" --key doc.txt "$WORK/out.txt"
expect_error MethodNotAllowed awsl s3api get-object --bucket "$BUCKET" --key doc.txt --version-id "$MARKER" "$WORK/out.txt"
expect_error InvalidArgument awsl s3api get-object --bucket "$BUCKET" --key doc.txt --version-id not-a-version "$WORK/out.txt"
expect_eq "$(awsl s3api list-objects-v2 --bucket "$BUCKET" --query 'length(Contents || `[]`)' --output text)" 0 "a deleted key is not listed"
expect_eq "$(awsl s3api list-object-versions --bucket "$BUCKET" --query '[length(Versions),length(DeleteMarkers),DeleteMarkers[0].IsLatest]' --output text)" "2	1	True" "list-object-versions: two versions under a delete marker"
expect_error InvalidArgument awsl s3api list-object-versions --bucket "$BUCKET" --version-id-marker "$V1"
# the CLI pages with key-marker and version-id-marker itself
paged="$(awsl s3api list-object-versions --bucket "$BUCKET" --page-size 1 --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["Versions"]), len(d["DeleteMarkers"]))')"
expect_eq "$paged" "2 1" "list-object-versions one entry a page"

lf_stop
lf_start
awsl s3api get-object --bucket "$BUCKET" --key doc.txt --version-id "$V2" "$WORK/out.txt" >/dev/null
expect_eq "$(cat "$WORK/out.txt")" second "versions survive a restart"
[ -f "$LF_DATA/data/s3-sse.key" ] || fail "SSE-S3 bodies are sealed under s3-sse.key"
echo "ok - s3-sse.key in the data dir"

awsl s3api delete-object --bucket "$BUCKET" --key doc.txt --version-id "$MARKER" >/dev/null
awsl s3api get-object --bucket "$BUCKET" --key doc.txt "$WORK/out.txt" >/dev/null
expect_eq "$(cat "$WORK/out.txt")" second "deleting the delete marker restores the object"
deleted="$(awsl s3api delete-objects --bucket "$BUCKET" --delete "{\"Objects\":[{\"Key\":\"doc.txt\",\"VersionId\":\"$V1\"},{\"Key\":\"doc.txt\",\"VersionId\":\"$V2\"}]}" --query 'length(Deleted)' --output text)"
expect_eq "$deleted" 2 "delete-objects removes both versions"
awsl s3api delete-bucket --bucket "$BUCKET"
echo "ok - the emptied bucket is deleted"

# Block Public Access (on for every new bucket)
awsl s3api create-bucket --bucket public-test --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
POLICY='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::public-test/*"}]}'
expect_error AccessDenied awsl s3api put-bucket-policy --bucket public-test --policy "$POLICY"
expect_error AccessDenied awsl s3api put-object --bucket public-test --key k --body "$WORK/v1.txt" --acl public-read
expect_error AccessControlListNotSupported awsl s3api put-object --bucket public-test --key k --body "$WORK/v1.txt" --acl private
awsl s3api put-public-access-block --bucket public-test --public-access-block-configuration BlockPublicPolicy=false
awsl s3api put-bucket-policy --bucket public-test --policy "$POLICY"
echo "ok - a public policy is taken once BlockPublicPolicy is off"
