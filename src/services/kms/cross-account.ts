/**
 * Which KMS operations accept a key of another account: the "Cross-account use" line of each
 * operation's page in the AWS KMS API Reference
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html) and the
 * "Cross-account use" column of https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html.
 *
 * For an operation marked `false` a key ARN of another account is resolved in the caller's own
 * account, where it does not exist: NotFoundException, whatever that key's policy allows
 * (docs/kms.md, "Cross-account use").
 */
import type { KmsOperation } from "../../protocol/shapes/kms.gen.ts";

export const CROSS_ACCOUNT_USE: Readonly<Record<KmsOperation, boolean>> = {
  // cryptographic operations, grants and DescribeKey: the key policy decides
  Encrypt: true,
  Decrypt: true,
  ReEncrypt: true,
  GenerateDataKey: true,
  GenerateDataKeyWithoutPlaintext: true,
  GenerateDataKeyPair: true,
  GenerateDataKeyPairWithoutPlaintext: true,
  Sign: true,
  Verify: true,
  GetPublicKey: true,
  GenerateMac: true,
  VerifyMac: true,
  DeriveSharedSecret: true,
  DescribeKey: true,
  GetKeyRotationStatus: true,
  CreateGrant: true,
  ListGrants: true,
  RetireGrant: true,
  RevokeGrant: true,
  // key management: only the key's own account
  CreateKey: false,
  ListKeys: false,
  UpdateKeyDescription: false,
  TagResource: false,
  UntagResource: false,
  ListResourceTags: false,
  EnableKey: false,
  DisableKey: false,
  ScheduleKeyDeletion: false,
  CancelKeyDeletion: false,
  CreateAlias: false,
  UpdateAlias: false,
  DeleteAlias: false,
  ListAliases: false,
  GenerateRandom: false,
  EnableKeyRotation: false,
  DisableKeyRotation: false,
  RotateKeyOnDemand: false,
  ListKeyRotations: false,
  GetParametersForImport: false,
  ImportKeyMaterial: false,
  DeleteImportedKeyMaterial: false,
  GetKeyPolicy: false,
  PutKeyPolicy: false,
  ListKeyPolicies: false,
  ListRetirableGrants: false,
  ReplicateKey: false,
  UpdatePrimaryRegion: false,
};

/** Whether `operation` may use a key of another account; an operation not in the table may not. */
export function allowsCrossAccountUse(operation: string): boolean {
  return Object.hasOwn(CROSS_ACCOUNT_USE, operation) && CROSS_ACCOUNT_USE[operation as KmsOperation];
}
