#!/usr/bin/env bash
# S3 bucket policies that grant, object tags and per-object DeleteObjects with the real AWS CLI:
# another account reads what the policy grants it, an unsigned (--no-sign-request) read works
# only with a policy granting everyone and stops under RestrictPublicBuckets, object tags round
# trip, and delete-objects answers AccessDenied per object (docs/cloudtrail.md#s3).
source "$(dirname "$0")/lib.sh"
lf_start

B=shared-data
WORK="$LF_DATA/work"
mkdir -p "$WORK"
echo "report" >"$WORK/r.txt"
awsl s3api create-bucket --bucket "$B" --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
awsl s3api put-object --bucket "$B" --key report.txt --body "$WORK/r.txt" --tagging "team=blue&stage=prod" >/dev/null
awsl s3api put-object --bucket "$B" --key keep.txt --body "$WORK/r.txt" >/dev/null

# object tags
expect_eq "$(awsl s3api get-object-tagging --bucket "$B" --key report.txt --query 'TagSet[].Key' --output text)" "team	stage" "put-object --tagging sets the tags"
expect_eq "$(awsl s3api head-object --bucket "$B" --key report.txt --query TagCount --output text)" 2 "head-object reports TagCount"
awsl s3api put-object-tagging --bucket "$B" --key report.txt --tagging 'TagSet=[{Key=team,Value=red}]' >/dev/null
expect_eq "$(awsl s3api get-object-tagging --bucket "$B" --key report.txt --query 'TagSet[0].Value' --output text)" red "put-object-tagging replaces the tags"
expect_error InvalidTag awsl s3api put-object-tagging --bucket "$B" --key report.txt --tagging 'TagSet=[{Key=aws:x,Value=y}]'
awsl s3api delete-object-tagging --bucket "$B" --key report.txt
expect_eq "$(awsl s3api get-object-tagging --bucket "$B" --key report.txt --query 'length(TagSet)' --output text)" 0 "delete-object-tagging removes them"

# another account: refused without a policy, allowed what the policy grants
OTHER=(env AWS_ACCESS_KEY_ID=111111111111 AWS_SECRET_ACCESS_KEY=test)
expect_error AccessDenied "${OTHER[@]}" aws --endpoint-url "$LF_ENDPOINT" s3api get-object --bucket "$B" --key report.txt "$WORK/out.txt"
awsl s3api put-public-access-block --bucket "$B" --public-access-block-configuration BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=false,RestrictPublicBuckets=false
POLICY='{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::shared-data/report.txt"},
 {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/keep.txt"}]}'
awsl s3api put-bucket-policy --bucket "$B" --policy "$POLICY"
"${OTHER[@]}" aws --endpoint-url "$LF_ENDPOINT" s3api get-object --bucket "$B" --key report.txt "$WORK/out.txt" >/dev/null
expect_eq "$(cat "$WORK/out.txt")" report "another account reads what the bucket policy grants it"

# anonymous (unsigned) requests
aws --endpoint-url "$LF_ENDPOINT" --no-sign-request s3api get-object --bucket "$B" --key keep.txt "$WORK/anon.txt" >/dev/null
expect_eq "$(cat "$WORK/anon.txt")" report "an unsigned get-object reads what Principal * may read"
expect_error AccessDenied aws --endpoint-url "$LF_ENDPOINT" --no-sign-request s3api get-object --bucket "$B" --key report.txt "$WORK/anon.txt"
awsl s3api put-public-access-block --bucket "$B" --public-access-block-configuration RestrictPublicBuckets=true
expect_error AccessDenied aws --endpoint-url "$LF_ENDPOINT" --no-sign-request s3api get-object --bucket "$B" --key keep.txt "$WORK/anon.txt"
expect_error AccessDenied "${OTHER[@]}" aws --endpoint-url "$LF_ENDPOINT" s3api get-object --bucket "$B" --key report.txt "$WORK/out.txt"
awsl s3api put-public-access-block --bucket "$B" --public-access-block-configuration RestrictPublicBuckets=false

# delete-objects: refused objects are answered one by one, the others deleted
out="$("${OTHER[@]}" aws --endpoint-url "$LF_ENDPOINT" s3api delete-objects --bucket "$B" --delete '{"Objects":[{"Key":"report.txt"},{"Key":"keep.txt"}]}' --query '[Deleted[].Key,Errors[].[Key,Code]]' --output text)"
expect_eq "$out" "report.txt
keep.txt	AccessDenied" "delete-objects deletes what it may and answers AccessDenied for the rest"
awsl s3api head-object --bucket "$B" --key keep.txt >/dev/null || fail "keep.txt was deleted"
echo "ok - the refused object is still there"

lf_stop
