#!/usr/bin/env bash
# KMS with the real AWS CLI: keys, aliases, encryption with context, data keys, disable/enable,
# scheduled deletion and cancellation, rotation (on demand and automatic by the service clock).
# Starts its own server on a free port with a temp data dir; exits non-zero on any mismatch.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lf_start
W="$LF_DATA/work"
mkdir -p "$W"

KEY_ID="$(awsl kms create-key --description "acceptance key" --query KeyMetadata.KeyId --output text)"
[[ "$KEY_ID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "create-key returned key id '$KEY_ID'"
echo "ok - create-key $KEY_ID"
KEY_ARN="arn:aws:kms:${AWS_DEFAULT_REGION}:000000000000:key/${KEY_ID}"
expect_eq "$(awsl kms describe-key --key-id "$KEY_ID" --query KeyMetadata.Arn --output text)" "$KEY_ARN" "describe-key ARN"
expect_eq "$(awsl kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text)" "Enabled" "new key is Enabled"

awsl kms create-alias --alias-name alias/acceptance --target-key-id "$KEY_ID"
expect_eq "$(awsl kms list-aliases --key-id "$KEY_ID" --query 'Aliases[0].AliasName' --output text)" "alias/acceptance" "create-alias / list-aliases"

printf 'hello from the acceptance test' > "$W/plain.txt"
awsl kms encrypt --key-id alias/acceptance --plaintext "fileb://$W/plain.txt" --encryption-context purpose=acceptance,team=platform \
  --query CiphertextBlob --output text | base64 -d > "$W/ct.bin"
[ -s "$W/ct.bin" ] || fail "encrypt produced no ciphertext"
if grep -q "hello from the acceptance" "$W/ct.bin"; then fail "ciphertext contains the plaintext"; fi
expect_eq "$(awsl kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context team=platform,purpose=acceptance --query Plaintext --output text | base64 -d)" \
  "hello from the acceptance test" "encrypt/decrypt with encryption context"
expect_eq "$(awsl kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context team=platform,purpose=acceptance --query KeyId --output text)" "$KEY_ARN" "decrypt names the key ARN"
expect_error InvalidCiphertextException awsl kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context purpose=other
expect_error InvalidCiphertextException awsl kms decrypt --ciphertext-blob "fileb://$W/ct.bin"

awsl kms generate-data-key-without-plaintext --key-id "$KEY_ID" --key-spec AES_256 --encryption-context app=acc > "$W/dk.json"
python3 - "$W/dk.json" <<'EOF' || fail "generate-data-key-without-plaintext output"
import json, sys
d = json.load(open(sys.argv[1]))
assert "Plaintext" not in d, d
assert d["KeyId"].endswith(":key/" + d["KeyId"].split("/")[-1])
assert len(d["CiphertextBlob"]) > 40
EOF
echo "ok - generate-data-key-without-plaintext has no Plaintext"
python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["CiphertextBlob"]))' "$W/dk.json" > "$W/dk.bin"
expect_eq "$(awsl kms decrypt --ciphertext-blob "fileb://$W/dk.bin" --encryption-context app=acc --query Plaintext --output text | base64 -d | wc -c | tr -d ' ')" "32" "data key decrypts to 32 bytes"

awsl kms disable-key --key-id "$KEY_ID"
expect_eq "$(awsl kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text)" "Disabled" "disable-key"
expect_error DisabledException awsl kms encrypt --key-id "$KEY_ID" --plaintext "fileb://$W/plain.txt"
expect_error DisabledException awsl kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context purpose=acceptance,team=platform
awsl kms enable-key --key-id "$KEY_ID"
expect_eq "$(awsl kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text)" "Enabled" "enable-key"
awsl kms encrypt --key-id "$KEY_ID" --plaintext "fileb://$W/plain.txt" --query KeyId --output text >/dev/null || fail "encrypt after enable-key"
echo "ok - encrypt works again after enable-key"

expect_eq "$(awsl kms schedule-key-deletion --key-id "$KEY_ID" --pending-window-in-days 7 --query KeyState --output text)" "PendingDeletion" "schedule-key-deletion"
expect_error KMSInvalidStateException awsl kms encrypt --key-id "$KEY_ID" --plaintext "fileb://$W/plain.txt"
expect_error ValidationException awsl kms schedule-key-deletion --key-id "$KEY_ID" --pending-window-in-days 3
expect_eq "$(awsl kms cancel-key-deletion --key-id "$KEY_ID" --query KeyId --output text)" "$KEY_ARN" "cancel-key-deletion"
expect_eq "$(awsl kms describe-key --key-id "$KEY_ID" --query KeyMetadata.KeyState --output text)" "Disabled" "a cancelled deletion leaves the key Disabled"
awsl kms enable-key --key-id "$KEY_ID"

awsl kms enable-key-rotation --key-id "$KEY_ID" --rotation-period-in-days 90
expect_eq "$(awsl kms get-key-rotation-status --key-id "$KEY_ID" --query KeyRotationEnabled --output text)" "True" "enable-key-rotation"
expect_eq "$(awsl kms get-key-rotation-status --key-id "$KEY_ID" --query RotationPeriodInDays --output text)" "90" "rotation period"
awsl kms rotate-key-on-demand --key-id "$KEY_ID" >/dev/null
expect_eq "$(awsl kms list-key-rotations --key-id "$KEY_ID" --query 'length(Rotations)' --output text)" "1" "rotate-key-on-demand"
lf_advance $((91 * 86400))
expect_eq "$(awsl kms list-key-rotations --key-id "$KEY_ID" --query 'Rotations[-1].RotationType' --output text)" "AUTOMATIC" "automatic rotation when the clock passes the date"
expect_eq "$(awsl kms decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context purpose=acceptance,team=platform --query Plaintext --output text | base64 -d)" \
  "hello from the acceptance test" "a ciphertext from before two rotations still decrypts"

# scheduled deletion runs on the service clock
OTHER="$(awsl kms create-key --query KeyMetadata.KeyId --output text)"
awsl kms schedule-key-deletion --key-id "$OTHER" --pending-window-in-days 7 >/dev/null
lf_advance $((8 * 86400))
expect_error NotFoundException awsl kms describe-key --key-id "$OTHER"

echo "kms acceptance: all checks passed"
