#!/usr/bin/env bash
# KMS multi-Region keys with the real AWS CLI, two Regions against one server: create-key
# --multi-region, replicate-key, encrypt in one Region and decrypt in the other, update-primary-region,
# and the primary waiting in PendingReplicaDeletion for its replica (docs/kms.md#multi-region-keys).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lf_start
W="$LF_DATA/work"
mkdir -p "$W"
EAST=us-east-1
WEST=eu-west-1

KEY_ID="$(awsl --region "$EAST" kms create-key --multi-region --description "mrk acceptance" --query KeyMetadata.KeyId --output text)"
[[ "$KEY_ID" =~ ^mrk-[0-9a-f]{32}$ ]] || fail "create-key --multi-region returned key id '$KEY_ID'"
echo "ok - create-key --multi-region $KEY_ID"
EAST_ARN="arn:aws:kms:${EAST}:000000000000:key/${KEY_ID}"
WEST_ARN="arn:aws:kms:${WEST}:000000000000:key/${KEY_ID}"

expect_eq "$(awsl --region "$EAST" kms replicate-key --key-id "$KEY_ID" --replica-region "$WEST" --description replica --query ReplicaKeyMetadata.KeyState --output text)" \
  "Creating" "replicate-key starts Creating"
expect_error AlreadyExistsException awsl --region "$EAST" kms replicate-key --key-id "$KEY_ID" --replica-region "$WEST"
expect_error ValidationException awsl --region "$EAST" kms replicate-key --key-id "$KEY_ID" --replica-region "$EAST"
lf_advance 6
expect_eq "$(awsl --region "$WEST" kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text)" "Enabled" "the replica is Enabled after a few seconds"
expect_eq "$(awsl --region "$WEST" kms describe-key --key-id "$KEY_ID" --query KeyMetadata.MultiRegionConfiguration.PrimaryKey.Region --output text)" "$EAST" "the replica names its primary"
expect_eq "$(awsl --region "$EAST" kms describe-key --key-id "$KEY_ID" --query 'KeyMetadata.MultiRegionConfiguration.ReplicaKeys[0].Arn' --output text)" "$WEST_ARN" "the primary lists its replica"

printf 'one key, two Regions' > "$W/plain.txt"
awsl --region "$EAST" kms encrypt --key-id "$KEY_ID" --plaintext "fileb://$W/plain.txt" --encryption-context app=mrk --query CiphertextBlob --output text | base64 -d > "$W/ct.bin"
expect_eq "$(awsl --region "$WEST" kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context app=mrk --query Plaintext --output text | base64 -d)" \
  "one key, two Regions" "encrypt in $EAST, decrypt in $WEST"
expect_eq "$(awsl --region "$WEST" kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context app=mrk --query KeyId --output text)" "$WEST_ARN" "decrypt names the replica"
expect_error AccessDeniedException awsl --region ap-southeast-2 kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context app=mrk

awsl --region "$EAST" kms update-primary-region --key-id "$KEY_ID" --primary-region "$WEST"
expect_eq "$(awsl --region "$EAST" kms describe-key --key-id "$KEY_ID" --query KeyMetadata.MultiRegionConfiguration.MultiRegionKeyType --output text)" "REPLICA" "update-primary-region demotes the old primary"
expect_eq "$(awsl --region "$WEST" kms describe-key --key-id "$KEY_ID" --query KeyMetadata.MultiRegionConfiguration.MultiRegionKeyType --output text)" "PRIMARY" "update-primary-region promotes the replica"

expect_eq "$(awsl --region "$WEST" kms schedule-key-deletion --key-id "$KEY_ID" --pending-window-in-days 7 --query KeyState --output text)" "PendingReplicaDeletion" "a primary with a replica waits for it"
awsl --region "$EAST" kms schedule-key-deletion --key-id "$KEY_ID" --pending-window-in-days 7 >/dev/null
lf_advance $((8 * 86400))
expect_error NotFoundException awsl --region "$EAST" kms describe-key --key-id "$EAST_ARN"
expect_eq "$(awsl --region "$WEST" kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text)" "PendingDeletion" "the primary's waiting period starts when its last replica is deleted"
