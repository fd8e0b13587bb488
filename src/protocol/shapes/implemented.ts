/**
 * The operations localfargate implements, per service (lower-case SDK id). scripts/gen-shapes.ts
 * generates shape tables for exactly these; add an operation here, then run the script.
 */
export const IMPLEMENTED: Record<string, string[]> = {
  sts: ["GetCallerIdentity", "AssumeRole", "GetSessionToken"],
  iam: [
    "CreateUser", "GetUser", "ListUsers", "DeleteUser", "UpdateUser", "TagUser", "UntagUser", "ListUserTags",
    "CreateAccessKey", "ListAccessKeys", "DeleteAccessKey", "UpdateAccessKey", "GetAccessKeyLastUsed",
    "CreateRole", "GetRole", "ListRoles", "DeleteRole", "UpdateAssumeRolePolicy", "UpdateRole", "TagRole", "UntagRole", "ListRoleTags",
    "CreateGroup", "GetGroup", "ListGroups", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup", "ListGroupsForUser",
    "PutUserPolicy", "GetUserPolicy", "ListUserPolicies", "DeleteUserPolicy",
    "PutRolePolicy", "GetRolePolicy", "ListRolePolicies", "DeleteRolePolicy",
    "PutGroupPolicy", "GetGroupPolicy", "ListGroupPolicies", "DeleteGroupPolicy",
    "CreatePolicy", "GetPolicy", "GetPolicyVersion", "ListPolicies", "DeletePolicy", "CreatePolicyVersion",
    "ListPolicyVersions", "DeletePolicyVersion", "SetDefaultPolicyVersion",
    "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "DetachUserPolicy", "DetachRolePolicy", "DetachGroupPolicy",
    "ListAttachedUserPolicies", "ListAttachedRolePolicies", "ListAttachedGroupPolicies", "ListEntitiesForPolicy",
    "PutRolePermissionsBoundary", "PutUserPermissionsBoundary", "DeleteRolePermissionsBoundary", "DeleteUserPermissionsBoundary",
    "SimulatePrincipalPolicy", "SimulateCustomPolicy", "GetContextKeysForPrincipalPolicy",
    "CreateVirtualMFADevice", "EnableMFADevice", "DeactivateMFADevice", "ResyncMFADevice",
    "ListMFADevices", "ListVirtualMFADevices", "DeleteVirtualMFADevice",
    "TagMFADevice", "UntagMFADevice", "ListMFADeviceTags",
  ],
  kms: [
    "CreateKey", "DescribeKey", "ListKeys", "UpdateKeyDescription", "TagResource", "UntagResource", "ListResourceTags",
    "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
    "CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
    "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
    "Sign", "Verify", "GetPublicKey", "GenerateMac", "VerifyMac",
    "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations",
    "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
    "GetKeyPolicy", "PutKeyPolicy", "ListKeyPolicies",
    "CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant",
  ],
  ecs: [
    "CreateCluster", "UpdateCluster", "DescribeClusters", "ListClusters", "DeleteCluster", "UpdateClusterSettings",
    "PutClusterCapacityProviders",
    "TagResource", "UntagResource", "ListTagsForResource",
    "RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies",
    "DeregisterTaskDefinition", "DeleteTaskDefinitions",
    "RunTask", "StopTask", "DescribeTasks", "ListTasks",
    "CreateService", "UpdateService", "DescribeServices", "ListServices", "DeleteService",
  ],
  cloudtrail: [
    "LookupEvents", "CreateTrail", "UpdateTrail", "DeleteTrail", "GetTrail", "DescribeTrails", "ListTrails",
    "StartLogging", "StopLogging", "GetTrailStatus", "PutEventSelectors", "GetEventSelectors", "ListPublicKeys",
    "AddTags", "RemoveTags", "ListTags",
  ],
};
