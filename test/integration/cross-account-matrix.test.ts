/**
 * Account isolation, generated from the operation tables: every implemented operation of every
 * service (app.services → ServiceDef.operations, input members from the generated shape tables)
 * whose input names a resource is called by a second account, as its root user and as an IAM
 * user with AdministratorAccess, with the first account's identifiers. Each call must be refused
 * with a 4xx (AccessDenied or the service's own "not found") and the first account's resources
 * must be exactly as they were. Where a call also takes the caller's own resource (an alias, a
 * cluster, a user of its own), a second case pairs that with the first account's identifier.
 *
 * An operation the matrix cannot fill fails the test: add its identifier members to IDENTIFIERS
 * (or its other required members to EXTRA), or list it in SKIPPED with the reason.
 * docs/ecs-fargate.md and docs/policy.md, "Account and Region isolation".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as CT from "@aws-sdk/client-cloudtrail";
import * as Logs from "@aws-sdk/client-cloudwatch-logs";
import * as ECS from "@aws-sdk/client-ecs";
import * as IAM from "@aws-sdk/client-iam";
import * as KMS from "@aws-sdk/client-kms";
import * as ORG from "@aws-sdk/client-organizations";
import * as S3 from "@aws-sdk/client-s3";
import * as SM from "@aws-sdk/client-secrets-manager";
import * as SSM from "@aws-sdk/client-ssm";
import * as STS from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import type { ServiceShapes } from "../../src/protocol/shapes/types.ts";
import { createTrailBucket } from "./cloudtrail-helpers.ts";
import { createFargateKey, NETWORK, registerSleeper } from "./ecs-helpers.ts";
import { otherAccountCallers, OTHER, OWNER, type Caller } from "./cross-account-helpers.ts";
import type { Creds } from "./iam-helpers.ts";
import { startTestIdp } from "../support/saml-idp.ts";
import { selfSigned, sshKey } from "../support/credential-files.ts";
import { accountBlockXml, errorOf, s3Control } from "./s3-control-helpers.ts";

/** The first account's resources (and a few of the second account's own, for the mixed cases). */
interface World {
  keyArn: string;
  keyId: string;
  signKeyArn: string;
  hmacKeyArn: string;
  externalKeyArn: string;
  aliasName: string;
  ciphertext: Uint8Array;
  grantId: string;
  grantToken: string;
  userName: string;
  userArn: string;
  groupName: string;
  roleName: string;
  roleArn: string;
  policyArn: string;
  accessKeyId: string;
  mfaSerial: string;
  serverCertName: string;
  signingCertId: string;
  sshKeyId: string;
  serviceCredentialId: string;
  oidcProviderArn: string;
  samlProviderArn: string;
  deletionTaskId: string;
  /** a service last accessed job of the first account */
  lastAccessedJobId: string;
  clusterArn: string;
  taskDefArn: string;
  taskArn: string;
  serviceArn: string;
  /** a service with the EXTERNAL deployment controller, and its task set */
  extServiceArn: string;
  taskSetArn: string;
  serviceDeploymentArn: string;
  serviceRevisionArn: string;
  capacityProviderArn: string;
  trailName: string;
  trailArn: string;
  bucket: string;
  objectKey: string;
  logGroupName: string;
  logGroupArn: string;
  secretArn: string;
  secretVersionId: string;
  parameterArn: string;
  /** the first account's organization: a member account, an OU, the root, an SCP, an invitation, an account creation request */
  org: { accountId: string; ouId: string; rootId: string; policyId: string; handshakeId: string; createRequestId: string };
  /** the second account's own */
  own: { keyArn: string; aliasName: string; userName: string; clusterArn: string; bucket: string };
}

interface Identifier {
  /** the first account's values for the member (one case each) */
  owner: (w: World) => unknown[];
  /** the caller's own resource of the same kind, paired with another member's foreign value */
  own?: (w: World) => unknown;
}

const one = (f: (w: World) => unknown): Identifier => ({ owner: (w) => [f(w)] });

/** Input members that name an existing resource, per service. */
const IDENTIFIERS: Record<string, Record<string, Identifier>> = {
  kms: {
    KeyId: { owner: (w) => [w.keyArn], own: (w) => w.own.keyArn },
    TargetKeyId: { owner: (w) => [w.keyArn] },
    SourceKeyId: { owner: (w) => [w.keyArn] },
    DestinationKeyId: { owner: (w) => [w.keyArn], own: (w) => w.own.keyArn },
    CiphertextBlob: one((w) => w.ciphertext),
    AliasName: { owner: (w) => [w.aliasName], own: (w) => w.own.aliasName },
    GrantId: one((w) => w.grantId),
    GrantToken: one((w) => w.grantToken),
    RetiringPrincipal: one((w) => w.roleArn),
  },
  ecs: {
    cluster: { owner: (w) => [w.clusterArn], own: (w) => w.own.clusterArn },
    clusters: one((w) => [w.clusterArn]),
    taskDefinition: { owner: (w) => [w.taskDefArn] },
    taskDefinitions: one((w) => [w.taskDefArn]),
    task: { owner: (w) => [w.taskArn, w.taskArn.split("/").pop()] },
    tasks: one((w) => [w.taskArn]),
    service: { owner: (w) => [w.serviceArn, "web", w.extServiceArn] },
    taskSet: { owner: (w) => [w.taskSetArn, w.taskSetArn.split("/").slice(-2).join("/")] },
    taskSets: one((w) => [w.taskSetArn]),
    primaryTaskSet: one((w) => w.taskSetArn),
    services: one((w) => [w.serviceArn]),
    resourceArn: { owner: (w) => [w.clusterArn, w.taskDefArn, w.taskArn, w.serviceArn, w.capacityProviderArn, w.taskSetArn] },
    serviceDeploymentArn: one((w) => w.serviceDeploymentArn),
    serviceDeploymentArns: one((w) => [w.serviceDeploymentArn]),
    serviceRevisionArns: one((w) => [w.serviceRevisionArn]),
    capacityProvider: one((w) => w.capacityProviderArn),
    capacityProviders: one((w) => [w.capacityProviderArn]),
    // UpdateCapacityProvider's name; account settings' name is the setting's (NOT_IDENTIFIERS)
    name: one((w) => w.capacityProviderArn),
    principalArn: one((w) => w.userArn),
  },
  iam: {
    UserName: { owner: (w) => [w.userName], own: (w) => w.own.userName },
    GroupName: one((w) => w.groupName),
    RoleName: one((w) => w.roleName),
    PolicyArn: one((w) => w.policyArn),
    PermissionsBoundary: one((w) => w.policyArn),
    AccessKeyId: one((w) => w.accessKeyId),
    PolicySourceArn: { owner: (w) => [w.userArn, w.roleArn] },
    SerialNumber: one((w) => w.mfaSerial),
    ServerCertificateName: one((w) => w.serverCertName),
    CertificateId: one((w) => w.signingCertId),
    SSHPublicKeyId: one((w) => w.sshKeyId),
    ServiceSpecificCredentialId: one((w) => w.serviceCredentialId),
    OpenIDConnectProviderArn: one((w) => w.oidcProviderArn),
    SAMLProviderArn: one((w) => w.samlProviderArn),
    DeletionTaskId: one((w) => w.deletionTaskId),
    // GenerateServiceLastAccessedDetails: a user, a role, a group or a customer managed policy
    Arn: { owner: (w) => [w.userArn, w.roleArn, `arn:aws:iam::${OWNER}:group/${w.groupName}`, w.policyArn] },
    JobId: one((w) => w.lastAccessedJobId),
  },
  cloudtrail: {
    Name: { owner: (w) => [w.trailName, w.trailArn] },
    TrailName: { owner: (w) => [w.trailName, w.trailArn] },
    ResourceId: one((w) => w.trailArn),
    ResourceIdList: one((w) => [w.trailArn]),
    trailNameList: one((w) => [w.trailArn]),
    S3BucketName: { owner: (w) => [w.bucket], own: (w) => w.own.bucket },
    KmsKeyId: one((w) => w.keyArn),
  },
  sts: {
    RoleArn: one((w) => w.roleArn),
  },
  organizations: {
    AccountId: one((w) => w.org.accountId),
    OrganizationalUnitId: one((w) => w.org.ouId),
    ParentId: { owner: (w) => [w.org.rootId, w.org.ouId] },
    ChildId: one((w) => w.org.accountId),
    PolicyId: one((w) => w.org.policyId),
    TargetId: { owner: (w) => [w.org.accountId, w.org.ouId, w.org.rootId] },
    RootId: one((w) => w.org.rootId),
    ResourceId: { owner: (w) => [w.org.accountId, w.org.policyId] },
    HandshakeId: one((w) => w.org.handshakeId),
    CreateAccountRequestId: one((w) => w.org.createRequestId),
    SourceParentId: one((w) => w.org.ouId),
    DestinationParentId: one((w) => w.org.rootId),
    Target: one((w) => ({ Type: "ACCOUNT", Id: w.org.accountId })),
  },
  s3: {
    Bucket: one((w) => w.bucket),
    Key: one((w) => w.objectKey),
    // S3 Control's account-level Block Public Access: the account is the resource
    AccountId: one(() => OWNER),
  },
  cloudwatchlogs: {
    logGroupName: one((w) => w.logGroupName),
    logGroupIdentifier: { owner: (w) => [w.logGroupArn, w.logGroupName] },
    resourceArn: one((w) => w.logGroupArn),
    resourceIdentifier: one((w) => w.logGroupArn),
    logGroupIdentifiers: one((w) => [w.logGroupArn]),
    kmsKeyId: one((w) => w.keyArn),
  },
  secretsmanager: {
    SecretId: { owner: (w) => [w.secretArn, w.secretArn.slice(0, -7)] },
    SecretIdList: one((w) => [w.secretArn]),
  },
  ssm: {
    Name: one((w) => w.parameterArn),
    Names: one((w) => [w.parameterArn]),
    ResourceId: one((w) => w.parameterArn),
  },
};

/** Members that name the new resource a call creates (the caller's own namespace). */
const NEW_NAMES: Record<string, Record<string, unknown>> = {
  "kms.CreateAlias": { AliasName: "alias/made-by-other" },
  "iam.CreateUser": { UserName: "made-by-other" },
  "iam.CreateRole": { RoleName: "made-by-other" },
  "ecs.CreateService": { serviceName: "made-by-other" },
  "cloudtrail.CreateTrail": { Name: "made-by-other" },
  "cloudwatchlogs.CreateLogGroup": { logGroupName: "made-by-other" },
  "organizations.CreateOrganizationalUnit": { Name: "made-by-other" },
};

const doc = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
const trustOther = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "sts:AssumeRole" }] });
const bytes = (n: number) => new Uint8Array(n).fill(7);
/** The second account's own certificate and SSH key, sent with the first account's identifiers. */
const OTHER_CERT = selfSigned("other-account");
const OTHER_SSH_KEY = sshKey();

/** The other members a call needs to be well-formed (so the refusal is about the identifier). */
const EXTRA: Record<string, Record<string, unknown>> = {
  "kms.UpdateKeyDescription": { Description: "changed by another account" },
  "kms.TagResource": { Tags: [{ TagKey: "team", TagValue: "other" }] },
  "kms.UntagResource": { TagKeys: ["team"] },
  "kms.ScheduleKeyDeletion": { PendingWindowInDays: 7 },
  "kms.Encrypt": { Plaintext: bytes(16) },
  "kms.GenerateDataKey": { KeySpec: "AES_256" },
  "kms.GenerateDataKeyWithoutPlaintext": { KeySpec: "AES_256" },
  "kms.GenerateDataKeyPair": { KeyPairSpec: "RSA_2048" },
  "kms.GenerateDataKeyPairWithoutPlaintext": { KeyPairSpec: "RSA_2048" },
  "kms.Sign": { Message: bytes(8), SigningAlgorithm: "ECDSA_SHA_256" },
  "kms.DeriveSharedSecret": { KeyAgreementAlgorithm: "ECDH", PublicKey: bytes(91) },
  "kms.Verify": { Message: bytes(8), Signature: bytes(70), SigningAlgorithm: "ECDSA_SHA_256" },
  "kms.GenerateMac": { Message: bytes(8), MacAlgorithm: "HMAC_SHA_256" },
  "kms.VerifyMac": { Message: bytes(8), MacAlgorithm: "HMAC_SHA_256", Mac: bytes(32) },
  "kms.EnableKeyRotation": { RotationPeriodInDays: 90 },
  "kms.GetParametersForImport": { WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" },
  "kms.ImportKeyMaterial": { ImportToken: bytes(64), EncryptedKeyMaterial: bytes(256), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" },
  "kms.GetKeyPolicy": { PolicyName: "default" },
  "kms.PutKeyPolicy": {
    PolicyName: "default",
    Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "kms:*", Resource: "*" }] }),
  },
  "kms.ListKeyPolicies": {},
  "kms.CreateGrant": { GranteePrincipal: `arn:aws:iam::${OTHER}:root`, Operations: ["Decrypt"] },
  "kms.ReplicateKey": { ReplicaRegion: "eu-west-1" },
  "kms.UpdatePrimaryRegion": { PrimaryRegion: "eu-west-1" },
  "ecs.UpdateCluster": { settings: [{ name: "containerInsights", value: "enabled" }] },
  "ecs.UpdateClusterSettings": { settings: [{ name: "containerInsights", value: "enabled" }] },
  "ecs.PutClusterCapacityProviders": { capacityProviders: ["FARGATE"], defaultCapacityProviderStrategy: [] },
  "ecs.TagResource": { tags: [{ key: "team", value: "other" }] },
  "ecs.UntagResource": { tagKeys: ["team"] },
  "ecs.RunTask": { launchType: "FARGATE", networkConfiguration: NETWORK },
  "ecs.StopTask": { reason: "stopped by another account" },
  "ecs.CreateService": { desiredCount: 1, launchType: "FARGATE", networkConfiguration: NETWORK },
  "ecs.UpdateService": { desiredCount: 3 },
  "ecs.DeleteService": { force: true },
  "ecs.CreateTaskSet": { launchType: "FARGATE", networkConfiguration: NETWORK, scale: { value: 100, unit: "PERCENT" } },
  "ecs.UpdateTaskSet": { scale: { value: 100, unit: "PERCENT" } },
  "ecs.DeleteTaskSet": { force: true },
  "ecs.UpdateCapacityProvider": { autoScalingGroupProvider: { managedDraining: "DISABLED" } },
  "ecs.PutAccountSetting": { name: "containerInsights", value: "enhanced" },
  "ecs.DeleteAccountSetting": { name: "containerInsights" },
  "cloudtrail.UpdateTrail": { S3KeyPrefix: "changed" },
  "cloudtrail.PutEventSelectors": { EventSelectors: [{ ReadWriteType: "ReadOnly", IncludeManagementEvents: false }] },
  "cloudtrail.PutInsightSelectors": { InsightSelectors: [{ InsightType: "ApiCallRateInsight" }] },
  "cloudtrail.AddTags": { TagsList: [{ Key: "team", Value: "other" }] },
  "cloudtrail.RemoveTags": { TagsList: [{ Key: "team" }] },
  "iam.UpdateUser": { NewPath: "/changed/" },
  "iam.TagUser": { Tags: [{ Key: "team", Value: "other" }] },
  "iam.UntagUser": { TagKeys: ["team"] },
  "iam.UpdateAccessKey": { Status: "Inactive" },
  "iam.CreateRole": { AssumeRolePolicyDocument: trustOther },
  "iam.UpdateAssumeRolePolicy": { PolicyDocument: trustOther },
  "iam.UpdateRole": { Description: "changed by another account" },
  "iam.UpdateRoleDescription": { Description: "changed by another account" },
  "iam.UpdateGroup": { NewGroupName: "renamed-by-other" },
  "iam.CreateLoginProfile": { Password: "Another-Account-1" },
  "iam.UpdateLoginProfile": { Password: "Another-Account-1" },
  "iam.TagPolicy": { Tags: [{ Key: "team", Value: "other" }] },
  "iam.UntagPolicy": { TagKeys: ["team"] },
  "iam.TagRole": { Tags: [{ Key: "team", Value: "other" }] },
  "iam.UntagRole": { TagKeys: ["team"] },
  "iam.PutUserPolicy": { PolicyName: "inline", PolicyDocument: doc },
  "iam.GetUserPolicy": { PolicyName: "inline" },
  "iam.DeleteUserPolicy": { PolicyName: "inline" },
  "iam.PutRolePolicy": { PolicyName: "inline", PolicyDocument: doc },
  "iam.GetRolePolicy": { PolicyName: "inline" },
  "iam.DeleteRolePolicy": { PolicyName: "inline" },
  "iam.PutGroupPolicy": { PolicyName: "inline", PolicyDocument: doc },
  "iam.GetGroupPolicy": { PolicyName: "inline" },
  "iam.DeleteGroupPolicy": { PolicyName: "inline" },
  "iam.GetPolicyVersion": { VersionId: "v1" },
  "iam.CreatePolicyVersion": { PolicyDocument: doc, SetAsDefault: true },
  "iam.DeletePolicyVersion": { VersionId: "v1" },
  "iam.SetDefaultPolicyVersion": { VersionId: "v1" },
  "iam.SimulatePrincipalPolicy": { ActionNames: ["ecs:ListClusters"] },
  "iam.GetServiceLastAccessedDetailsWithEntities": { ServiceNamespace: "kms" },
  "iam.EnableMFADevice": { AuthenticationCode1: "123456", AuthenticationCode2: "654321" },
  "iam.ResyncMFADevice": { AuthenticationCode1: "123456", AuthenticationCode2: "654321" },
  "iam.TagMFADevice": { Tags: [{ Key: "team", Value: "other" }] },
  "iam.UploadSigningCertificate": { CertificateBody: OTHER_CERT.cert },
  "iam.UpdateSigningCertificate": { Status: "Inactive" },
  "iam.UploadSSHPublicKey": { SSHPublicKeyBody: OTHER_SSH_KEY.openssh },
  "iam.GetSSHPublicKey": { Encoding: "SSH" },
  "iam.UpdateSSHPublicKey": { Status: "Inactive" },
  "iam.CreateServiceSpecificCredential": { ServiceName: "codecommit.amazonaws.com" },
  "iam.UpdateServiceSpecificCredential": { Status: "Inactive" },
  "iam.UpdateServerCertificate": { NewPath: "/changed/" },
  "iam.TagServerCertificate": { Tags: [{ Key: "team", Value: "other" }] },
  "iam.UntagServerCertificate": { TagKeys: ["team"] },
  "iam.UntagMFADevice": { TagKeys: ["team"] },
  "iam.AddClientIDToOpenIDConnectProvider": { ClientID: "other-client" },
  "iam.RemoveClientIDFromOpenIDConnectProvider": { ClientID: "sts.amazonaws.com" },
  "iam.UpdateOpenIDConnectProviderThumbprint": { ThumbprintList: ["0".repeat(40)] },
  "iam.TagOpenIDConnectProvider": { Tags: [{ Key: "team", Value: "other" }] },
  "iam.UntagOpenIDConnectProvider": { TagKeys: ["team"] },
  "sts.AssumeRole": { RoleSessionName: "other" },
  "s3.PutObject": { Body: "overwritten by another account" },
  "s3.PutBucketAcl": { ACL: "public-read" },
  "s3.PutObjectAcl": { ACL: "public-read" },
  "s3.DeleteObjects": { Delete: { Objects: [{ Key: "report.txt" }, { Key: "report.txt", VersionId: "null" }] } },
  "cloudwatchlogs.PutRetentionPolicy": { retentionInDays: 1 },
  "cloudwatchlogs.TagResource": { tags: { team: "other" } },
  "cloudwatchlogs.UntagResource": { tagKeys: ["team"] },
  "cloudwatchlogs.TagLogGroup": { tags: { team: "other" } },
  "cloudwatchlogs.UntagLogGroup": { tags: ["team"] },
  "cloudwatchlogs.CreateLogStream": { logStreamName: "made-by-other" },
  "cloudwatchlogs.DeleteLogStream": { logStreamName: "owner-stream" },
  "cloudwatchlogs.GetLogEvents": { logStreamName: "owner-stream" },
  "cloudwatchlogs.PutLogEvents": { logStreamName: "owner-stream", logEvents: [{ timestamp: 1_700_000_000_000, message: "written by another account" }] },
  "secretsmanager.PutSecretValue": { SecretString: "overwritten by another account" },
  "secretsmanager.UpdateSecret": { Description: "changed by another account" },
  "secretsmanager.TagResource": { Tags: [{ Key: "team", Value: "other" }] },
  "secretsmanager.UntagResource": { TagKeys: ["team"] },
  "secretsmanager.PutResourcePolicy": {
    ResourcePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "secretsmanager:*", Resource: "*" }],
    }),
  },
  "secretsmanager.ValidateResourcePolicy": { ResourcePolicy: doc },
  "secretsmanager.UpdateSecretVersionStage": { VersionStage: "AWSCURRENT" },
  "ssm.PutParameter": { Value: "overwritten by another account", Type: "String", Overwrite: true },
  "ssm.LabelParameterVersion": { Labels: ["other"] },
  "ssm.UnlabelParameterVersion": { ParameterVersion: 1, Labels: ["prod"] },
  "ssm.AddTagsToResource": { ResourceType: "Parameter", Tags: [{ Key: "team", Value: "other" }] },
  "ssm.RemoveTagsFromResource": { ResourceType: "Parameter", TagKeys: ["team"] },
  "ssm.ListTagsForResource": { ResourceType: "Parameter" },
  "organizations.RegisterDelegatedAdministrator": { ServicePrincipal: "cloudtrail.amazonaws.com" },
  "organizations.DeregisterDelegatedAdministrator": { ServicePrincipal: "cloudtrail.amazonaws.com" },
  "organizations.ListChildren": { ChildType: "ACCOUNT" },
  "organizations.ListPoliciesForTarget": { Filter: "SERVICE_CONTROL_POLICY" },
  "organizations.EnablePolicyType": { PolicyType: "RESOURCE_CONTROL_POLICY" },
  "organizations.DisablePolicyType": { PolicyType: "SERVICE_CONTROL_POLICY" },
  "organizations.TagResource": { Tags: [{ Key: "team", Value: "other" }] },
  "organizations.UntagResource": { TagKeys: ["team"] },
  "organizations.UpdateOrganizationalUnit": { Name: "renamed-by-other" },
  "organizations.UpdatePolicy": { Content: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) },
  "organizations.DescribeEffectivePolicy": { PolicyType: "TAG_POLICY" },
  "organizations.ListEffectivePolicyValidationErrors": { PolicyType: "TAG_POLICY" },
  "s3.PutBucketVersioning": { VersioningConfiguration: { Status: "Suspended" } },
  "s3.PutBucketEncryption": { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" } }] } },
  "s3.PutPublicAccessBlock": { PublicAccessBlockConfiguration: { BlockPublicAcls: false } },
  "s3.PutAccountPublicAccessBlock": { PublicAccessBlockConfiguration: { BlockPublicAcls: false } },
  "s3.PutBucketOwnershipControls": { OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } },
  "s3.PutBucketTagging": { Tagging: { TagSet: [{ Key: "team", Value: "other" }] } },
  "s3.PutObjectTagging": { Tagging: { TagSet: [{ Key: "team", Value: "other" }] } },
  "s3.PutObjectLockConfiguration": { ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } } },
  "s3.PutObjectRetention": { Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date("2099-01-01T00:00:00Z") } },
  "s3.PutObjectLegalHold": { LegalHold: { Status: "ON" } },
  "s3.PutBucketPolicy": {
    Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::owner-bucket/*" }] }),
  },
};

/** Operations the matrix does not call, and why. */
const SKIPPED: Record<string, string> = {
  "kms.CreateKey": "creates a key in the caller's own account; takes no identifier",
  "kms.ListKeys": "lists the caller's own keys; takes no identifier",
  "kms.GenerateRandom": "takes no identifier",
  "ecs.CreateCluster": "creates a cluster in the caller's own account; takes no identifier",
  "ecs.ListClusters": "lists the caller's own clusters; takes no identifier",
  "ecs.CreateCapacityProvider": "creates in the caller's own account; an Auto Scaling group of another account is refused (ecs-account-capacity.test.ts)",
  "ecs.PutAccountSettingDefault": "sets the caller's own account default; takes no identifier",
  "ecs.RegisterTaskDefinition": "registers in the caller's own account; role ARNs are stored, never assumed",
  "ecs.ListTaskDefinitions": "lists the caller's own task definitions; takes no identifier",
  "ecs.ListTaskDefinitionFamilies": "lists the caller's own families; takes no identifier",
  "iam.ListUsers": "lists the caller's own users; takes no identifier",
  "iam.ListRoles": "lists the caller's own roles; takes no identifier",
  "iam.ListGroups": "lists the caller's own groups; takes no identifier",
  "iam.CreateGroup": "creates a group in the caller's own account; takes no identifier",
  "iam.CreatePolicy": "creates a policy in the caller's own account; takes no identifier",
  "iam.ListPolicies": "lists the caller's own and AWS managed policies; takes no identifier",
  "iam.CreateVirtualMFADevice": "creates a device in the caller's own account; takes no identifier",
  "iam.ListVirtualMFADevices": "lists the caller's own devices; takes no identifier",
  "iam.GetAccountPasswordPolicy": "reads the caller's own account's password policy; takes no identifier",
  "iam.UpdateAccountPasswordPolicy": "sets the caller's own account's password policy; takes no identifier",
  "iam.DeleteAccountPasswordPolicy": "deletes the caller's own account's password policy; takes no identifier",
  "iam.GetAccountSummary": "counts the caller's own account's entities; takes no identifier",
  "iam.GenerateCredentialReport": "reports on the caller's own account; takes no identifier",
  "iam.GetCredentialReport": "reports on the caller's own account; takes no identifier",
  "iam.CreateAccountAlias": "names the caller's own account; an alias another account has is refused (test/integration/iam-account.test.ts)",
  "iam.DeleteAccountAlias": "deletes the caller's own account's alias only; takes no identifier",
  "iam.GetAccountAuthorizationDetails": "describes the caller's own account; takes no identifier",
  "iam.ListServerCertificates": "lists the caller's own server certificates; takes no identifier",
  "iam.UploadServerCertificate": "uploads into the caller's own account; the name is the caller's own namespace",
  "iam.ChangePassword": "changes the caller's own password; takes no identifier",
  "iam.ListAccountAliases": "lists the caller's own account's alias; takes no identifier",
  "iam.SimulateCustomPolicy": "evaluates the policies given in the request; names no principal",
  "sts.GetCallerIdentity": "describes the caller; takes no identifier",
  "sts.GetSessionToken": "issues the caller's own session; takes no identifier",
  "sts.GetFederationToken": "issues the caller's own federated session; takes no identifier",
  "sts.GetAccessKeyInfo": "answers the account of any access key id, by design (as AWS does); reveals nothing else",
  "sts.AssumeRoleWithWebIdentity":
    "unsigned: the credential is an ID token from an OIDC provider of the role's account, not an account's key (test/integration/sts-web-identity.test.ts)",
  "iam.CreateOpenIDConnectProvider": "creates a provider in the caller's own account; takes a URL, no identifier",
  "iam.ListOpenIDConnectProviders": "lists the caller's own providers; takes no identifier",
  "iam.CreateSAMLProvider": "creates a provider in the caller's own account; takes a name, no identifier",
  "iam.ListSAMLProviders": "lists the caller's own providers; takes no identifier",
  "sts.AssumeRoleWithSAML": "unsigned: the credential is an assertion signed by a SAML provider of the role's account, not an account's key (test/integration/sts-saml.test.ts)",
  "iam.CreateServiceLinkedRole": "creates a role in the caller's own account; takes a service name, no identifier",
  "cloudtrail.LookupEvents": "looks up the caller's own account's events; takes no identifier",
  "cloudtrail.ListTrails": "lists the caller's own trails; takes no identifier",
  "cloudtrail.ListPublicKeys": "lists the Region's digest public keys; takes no identifier",
  "s3.ListBuckets": "lists the caller's own buckets; takes no identifier",
  "cloudwatchlogs.DescribeLogGroups": "lists the caller's own log groups; takes no identifier",
  "secretsmanager.CreateSecret": "creates a secret in the caller's own account; takes no identifier",
  "secretsmanager.ListSecrets": "lists the caller's own secrets; takes no identifier",
  "secretsmanager.GetRandomPassword": "takes no identifier",
  "ssm.DescribeParameters": "lists the caller's own parameters; takes no identifier",
  "ssm.GetParametersByPath": "a path names parameters of the caller's own account only; takes no account",
  "organizations.CreateOrganization": "creates the caller's own organization; takes no identifier",
  "organizations.DescribeOrganization": "describes the caller's own organization; takes no identifier",
  "organizations.DeleteOrganization": "deletes the caller's own organization; takes no identifier",
  "organizations.LeaveOrganization": "takes the caller's own account out of its organization; takes no identifier",
  "organizations.ListRoots": "lists the caller's own organization's root; takes no identifier",
  "organizations.EnableAWSServiceAccess": "changes the caller's own organization; names a service, not a resource",
  "organizations.DisableAWSServiceAccess": "changes the caller's own organization; names a service, not a resource",
  "organizations.ListAWSServiceAccessForOrganization": "lists the caller's own organization's trusted services; takes no identifier",
  "organizations.ListDelegatedAdministrators": "lists the caller's own organization's delegated administrators; takes no identifier",
  "organizations.PutResourcePolicy": "sets the caller's own organization's delegation policy; takes no identifier",
  "organizations.DescribeResourcePolicy": "describes the caller's own organization's delegation policy; takes no identifier",
  "organizations.DeleteResourcePolicy": "deletes the caller's own organization's delegation policy; takes no identifier",
  "organizations.CreateAccount": "creates an account in the caller's own organization; takes no identifier",
  "organizations.ListCreateAccountStatus": "lists the caller's own organization's requests; takes no identifier",
  "organizations.ListAccounts": "lists the caller's own organization's accounts; takes no identifier",
  "organizations.CreatePolicy": "creates a policy in the caller's own organization; takes no identifier",
  "organizations.ListPolicies": "lists the caller's own organization's policies and AWS's; takes no identifier",
  "organizations.ListHandshakesForAccount": "lists the invitations to the caller's own account; takes no identifier",
  "organizations.ListHandshakesForOrganization": "lists the caller's own organization's invitations; takes no identifier",
  "organizations.ListAccountsWithInvalidEffectivePolicy": "lists the caller's own organization's accounts; names a policy type, not a resource",
  "organizations.EnableAllFeatures": "changes the caller's own organization; takes no identifier",
};

/** S3 has no shape table (restXml, routed by the service itself): its operations' members. */
const S3_MEMBERS: Record<string, { members: string[]; required: string[] }> = {
  CreateBucket: { members: ["Bucket"], required: ["Bucket"] },
  DeleteBucket: { members: ["Bucket"], required: ["Bucket"] },
  HeadBucket: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketLocation: { members: ["Bucket"], required: ["Bucket"] },
  ListObjects: { members: ["Bucket"], required: ["Bucket"] },
  ListObjectsV2: { members: ["Bucket"], required: ["Bucket"] },
  GetObject: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  HeadObject: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  PutObject: { members: ["Bucket", "Key", "Body"], required: ["Bucket", "Key"] },
  DeleteObject: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  GetBucketVersioning: { members: ["Bucket"], required: ["Bucket"] },
  PutBucketVersioning: { members: ["Bucket", "VersioningConfiguration"], required: ["Bucket", "VersioningConfiguration"] },
  GetBucketEncryption: { members: ["Bucket"], required: ["Bucket"] },
  PutBucketEncryption: { members: ["Bucket", "ServerSideEncryptionConfiguration"], required: ["Bucket", "ServerSideEncryptionConfiguration"] },
  DeleteBucketEncryption: { members: ["Bucket"], required: ["Bucket"] },
  GetPublicAccessBlock: { members: ["Bucket"], required: ["Bucket"] },
  PutPublicAccessBlock: { members: ["Bucket", "PublicAccessBlockConfiguration"], required: ["Bucket", "PublicAccessBlockConfiguration"] },
  DeletePublicAccessBlock: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketOwnershipControls: { members: ["Bucket"], required: ["Bucket"] },
  PutBucketOwnershipControls: { members: ["Bucket", "OwnershipControls"], required: ["Bucket", "OwnershipControls"] },
  DeleteBucketOwnershipControls: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketTagging: { members: ["Bucket"], required: ["Bucket"] },
  PutBucketTagging: { members: ["Bucket", "Tagging"], required: ["Bucket", "Tagging"] },
  DeleteBucketTagging: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketAcl: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketLogging: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketNotificationConfiguration: { members: ["Bucket"], required: ["Bucket"] },
  GetBucketLifecycleConfiguration: { members: ["Bucket"], required: ["Bucket"] },
  GetObjectLockConfiguration: { members: ["Bucket"], required: ["Bucket"] },
  PutObjectLockConfiguration: { members: ["Bucket", "ObjectLockConfiguration"], required: ["Bucket"] },
  GetObjectRetention: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  PutObjectRetention: { members: ["Bucket", "Key", "Retention"], required: ["Bucket", "Key"] },
  GetObjectLegalHold: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  PutObjectLegalHold: { members: ["Bucket", "Key", "LegalHold"], required: ["Bucket", "Key"] },
  GetBucketReplication: { members: ["Bucket"], required: ["Bucket"] },
  PutBucketPolicy: { members: ["Bucket", "Policy"], required: ["Bucket", "Policy"] },
  GetBucketPolicy: { members: ["Bucket"], required: ["Bucket"] },
  DeleteBucketPolicy: { members: ["Bucket"], required: ["Bucket"] },
  ListObjectVersions: { members: ["Bucket"], required: ["Bucket"] },
  DeleteObjects: { members: ["Bucket", "Delete"], required: ["Bucket", "Delete"] },
  PutBucketAcl: { members: ["Bucket", "ACL"], required: ["Bucket"] },
  GetObjectAcl: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  PutObjectAcl: { members: ["Bucket", "Key", "ACL"], required: ["Bucket", "Key"] },
  GetObjectTagging: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  PutObjectTagging: { members: ["Bucket", "Key", "Tagging"], required: ["Bucket", "Key", "Tagging"] },
  DeleteObjectTagging: { members: ["Bucket", "Key"], required: ["Bucket", "Key"] },
  GetAccountPublicAccessBlock: { members: ["AccountId"], required: ["AccountId"] },
  PutAccountPublicAccessBlock: { members: ["AccountId", "PublicAccessBlockConfiguration"], required: ["AccountId", "PublicAccessBlockConfiguration"] },
  DeleteAccountPublicAccessBlock: { members: ["AccountId"], required: ["AccountId"] },
};

/** S3 Control operations (no @aws-sdk/client-s3-control here): sent as signed raw requests, by method. */
const S3_CONTROL_CALLS: Record<string, "GET" | "PUT" | "DELETE"> = {
  GetAccountPublicAccessBlock: "GET",
  PutAccountPublicAccessBlock: "PUT",
  DeleteAccountPublicAccessBlock: "DELETE",
};

/** Per-operation identifier values where one kind of key is needed (signing, MAC, imported). */
const KEY_FOR: Record<string, (w: World) => string> = {
  Sign: (w) => w.signKeyArn,
  Verify: (w) => w.signKeyArn,
  GetPublicKey: (w) => w.signKeyArn,
  GenerateMac: (w) => w.hmacKeyArn,
  VerifyMac: (w) => w.hmacKeyArn,
  GetParametersForImport: (w) => w.externalKeyArn,
  ImportKeyMaterial: (w) => w.externalKeyArn,
  DeleteImportedKeyMaterial: (w) => w.externalKeyArn,
};

/**
 * The answers that mean "refused": access denied, or the resource is not found from the
 * caller's account (names and ARNs resolve only there). Per service (and, where one operation
 * answers otherwise, per operation), as the SDKs name AWS's errors; "code:message" pins the message.
 */
const REFUSALS: Record<string, string[]> = {
  kms: ["AccessDeniedException", "NotFoundException"],
  "kms.Decrypt": ["IncorrectKeyException"],
  "kms.ListRetirableGrants": ["ValidationException"],
  ecs: [
    "AccessDeniedException",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "TaskSetNotFoundException",
    "ServiceDeploymentNotFoundException",
    "ClientException:Unable to describe task definition.",
    "ClientException:The specified task definition does not exist.",
    "InvalidParameterException:The referenced task was not found.",
    "InvalidParameterException:The specified task is stopped or does not exist.",
    "InvalidParameterException:The specified task set does not exist.",
  ],
  "ecs.CreateService": ["ClientException:TaskDefinition not found."],
  "ecs.PutClusterCapacityProviders": [
    `InvalidParameterException:The specified capacity provider 'arn:aws:ecs:us-east-1:${OWNER}:capacity-provider/owner-cp' is not in an ACTIVE state. Specify a valid capacity provider and try again.`,
  ],
  "ecs.UpdateCapacityProvider": ["InvalidParameterException:The specified capacity provider does not exist."],
  "ecs.TagResource": ["InvalidParameterException:The specified capacity provider does not exist."],
  "ecs.UntagResource": ["InvalidParameterException:The specified capacity provider does not exist."],
  "ecs.ListTagsForResource": ["InvalidParameterException:The specified capacity provider does not exist."],
  "ecs.DeleteCapacityProvider": ["InvalidParameterException:The specified capacity provider does not exist."],
  "ecs.PutAccountSetting": [`InvalidParameterException:principalArn 'arn:aws:iam::${OWNER}:user/owner-user' is not in your account.`],
  "ecs.ListAccountSettings": [`InvalidParameterException:principalArn 'arn:aws:iam::${OWNER}:user/owner-user' is not in your account.`],
  "ecs.DeleteAccountSetting": [`InvalidParameterException:principalArn 'arn:aws:iam::${OWNER}:user/owner-user' is not in your account.`],
  iam: ["AccessDenied", "NoSuchEntityException"],
  // another account's job is answered as one that does not exist
  "iam.GetServiceLastAccessedDetails": [`InvalidInputException`],
  "iam.GetServiceLastAccessedDetailsWithEntities": [`InvalidInputException`],
  cloudtrail: ["AccessDeniedException", "TrailNotFoundException", "ResourceNotFoundException"],
  "cloudtrail.CreateTrail": ["InsufficientS3BucketPolicyException", "InsufficientEncryptionPolicyException", "KmsKeyNotFoundException"],
  "cloudtrail.UpdateTrail": ["InsufficientS3BucketPolicyException"],
  sts: ["AccessDenied"],
  organizations: [
    "AccessDeniedException",
    "AWSOrganizationsNotInUseException",
    "AccountNotFoundException",
    "ParentNotFoundException",
    "OrganizationalUnitNotFoundException",
    "ChildNotFoundException",
    "PolicyNotFoundException",
    "TargetNotFoundException",
    "RootNotFoundException",
    "HandshakeNotFoundException",
    "CreateAccountStatusNotFoundException",
  ],
  // any account may be invited; one already in an organization cannot be
  "organizations.InviteAccountToOrganization": ["HandshakeConstraintViolationException:The account is already a member of an organization."],
  // HEAD answers have no body: the SDK names a 403 without a code "Unknown"
  s3: ["AccessDenied", "BucketAlreadyExists", "Unknown"],
  cloudwatchlogs: [
    "AccessDeniedException",
    "ResourceNotFoundException:The specified log group does not exist.",
    "AccessDeniedException:The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:us-east-1:111111111111:log-group:made-by-other'",
  ],
  secretsmanager: ["AccessDeniedException", "ResourceNotFoundException"],
  ssm: ["AccessDeniedException", "ParameterNotFound", "InvalidResourceId"],
  // a parameter ARN names an existing parameter; PutParameter takes names of the caller's own
  "ssm.PutParameter": ["ValidationException:Parameter name must be a fully qualified name."],
};

/** Services whose resources live in one Region (IAM and STS are global; S3 bucket names are global). */
const REGIONAL = new Set(["kms", "ecs", "cloudtrail", "cloudwatchlogs", "secretsmanager", "ssm"]);

/** Calls of a Regional service whose identifier is global (an IAM principal): the owner may name it from any Region, for that Region. */
const GLOBAL_IDENTIFIER = new Set(["ecs.PutAccountSetting", "ecs.ListAccountSettings", "ecs.DeleteAccountSetting"]);

/** Calls that may answer 200, with nothing of the first account's in the answer. */
const EMPTY_ANSWERS: Record<string, (out: Record<string, unknown[] | undefined>) => boolean> = {
  "cloudtrail.DescribeTrails": (o) => o.trailList?.length === 0,
  "kms.ListRetirableGrants": (o) => o.Grants?.length === 0,
  "ecs.DescribeTasks": (o) => o.tasks?.length === 0,
  "ecs.DescribeServiceDeployments": (o) => o.serviceDeployments?.length === 0,
  "ecs.DescribeServiceRevisions": (o) => o.serviceRevisions?.length === 0,
  "ecs.DescribeClusters": (o) => o.clusters?.length === 0,
  "ecs.DeleteTaskDefinitions": (o) => o.taskDefinitions?.length === 0,
  "ecs.DescribeCapacityProviders": (o) => o.capacityProviders?.length === 0,
  // each secret of the batch is refused in Errors
  "secretsmanager.BatchGetSecretValue": (o) => o.SecretValues?.length === 0 && o.Errors?.length === 1,
  "ssm.GetParameters": (o) => o.Parameters?.length === 0,
  // each object of the batch is refused in Errors (S3 authorizes DeleteObjects object by object)
  "s3.DeleteObjects": (o) => (o.Deleted ?? []).length === 0 && o.Errors?.length === 2 && o.Errors.every((e) => (e as { Code?: string }).Code === "AccessDenied"),
  "ssm.DeleteParameters": (o) => o.DeletedParameters?.length === 0,
};

/** Members that are not identifiers in one operation (any principal may be named there). */
const NOT_IDENTIFIERS: Record<string, string[]> = {
  "ecs.PutAccountSetting": ["name"],
  "ecs.ListAccountSettings": ["name"],
  "ecs.DeleteAccountSetting": ["name"],
  "kms.CreateGrant": ["RetiringPrincipal"],
  "kms.ListGrants": ["GrantId"],
  // logGroupName and logGroupIdentifier (or resourceIdentifier) may not be given together: one is the identifier
  "cloudwatchlogs.DescribeLogStreams": ["logGroupName"],
  "cloudwatchlogs.GetLogEvents": ["logGroupName"],
  "cloudwatchlogs.FilterLogEvents": ["logGroupName"],
  "cloudwatchlogs.AssociateKmsKey": ["logGroupName"],
  "cloudwatchlogs.DisassociateKmsKey": ["resourceIdentifier"],
};

interface Case {
  key: string;
  service: string;
  operation: string;
  input: Record<string, unknown>;
  /** which member carries which kind of value, for the report */
  shape: string;
}

interface Plan {
  cases: Case[];
  skipped: { key: string; reason: string }[];
  /** operations the matrix does not know how to fill */
  unknown: string[];
}

function inputMembers(shapes: ServiceShapes | undefined, service: string, operation: string): { members: string[]; required: string[] } | undefined {
  if (service === "s3") return S3_MEMBERS[operation];
  const name = shapes?.operations[operation]?.input;
  if (!name) return { members: [], required: [] };
  const s = shapes!.shapes[name];
  if (s?.type !== "structure") return undefined;
  return { members: Object.keys(s.members), required: s.required ?? [] };
}

function plan(services: Iterable<{ name: string; shapes?: ServiceShapes; operations: Record<string, unknown> }>, w: World): Plan {
  const out: Plan = { cases: [], skipped: [], unknown: [] };
  const seen = new Set<string>();
  for (const def of services) {
    if (seen.has(def.name)) continue;
    seen.add(def.name);
    const ids = IDENTIFIERS[def.name] ?? {};
    for (const operation of Object.keys(def.operations)) {
      const key = `${def.name}.${operation}`;
      if (SKIPPED[key]) {
        out.skipped.push({ key, reason: SKIPPED[key] });
        continue;
      }
      const m = inputMembers(def.shapes, def.name, operation);
      if (!m) {
        out.unknown.push(`${key}: no input members known (add it to S3_MEMBERS or SKIPPED)`);
        continue;
      }
      const fresh = NEW_NAMES[key] ?? {};
      const extra = EXTRA[key] ?? {};
      const idMembers = m.members.filter((x) => ids[x] && !(x in fresh) && !NOT_IDENTIFIERS[key]?.includes(x));
      if (idMembers.length === 0) {
        out.unknown.push(`${key}: takes no identifier the matrix knows (add its members to IDENTIFIERS, or list it in SKIPPED with the reason)`);
        continue;
      }
      const unfilled = m.required.filter((x) => !idMembers.includes(x) && !(x in fresh) && !(x in extra));
      if (unfilled.length) {
        out.unknown.push(`${key}: required ${unfilled.join(", ")} not filled (add to EXTRA)`);
        continue;
      }
      const value = (member: string) => (member === "KeyId" && KEY_FOR[operation] ? [KEY_FOR[operation](w)] : ids[member].owner(w));
      const base: Record<string, unknown> = { ...fresh, ...extra };
      for (const x of idMembers) base[x] = value(x)[0];
      const push = (input: Record<string, unknown>, shape: string) => out.cases.push({ key, service: def.name, operation, input, shape });
      push(base, "the first account's identifiers");
      for (const x of idMembers) {
        for (const alt of value(x).slice(1)) push({ ...base, [x]: alt }, `${x} = ${String(alt)}`);
        const own = ids[x].own;
        if (own && idMembers.length > 1) push({ ...base, [x]: own(w) }, `${x} = the caller's own`);
      }
    }
  }
  return out;
}

const MODULES: Record<string, { client: new (cfg: object) => { send(c: unknown): Promise<unknown>; destroy(): void }; mod: Record<string, unknown> }> = {
  kms: { client: KMS.KMSClient, mod: KMS },
  ecs: { client: ECS.ECSClient, mod: ECS },
  iam: { client: IAM.IAMClient, mod: IAM },
  cloudtrail: { client: CT.CloudTrailClient, mod: CT },
  sts: { client: STS.STSClient, mod: STS },
  s3: { client: S3.S3Client, mod: S3 },
  cloudwatchlogs: { client: Logs.CloudWatchLogsClient, mod: Logs },
  secretsmanager: { client: SM.SecretsManagerClient, mod: SM },
  ssm: { client: SSM.SSMClient, mod: SSM },
  organizations: { client: ORG.OrganizationsClient, mod: ORG },
};

interface Outcome {
  status: number;
  code: string;
  message: string;
  body?: string;
  out?: Record<string, unknown[] | undefined>;
}

async function call(server: TestServer, creds: Creds, c: Case, region?: string): Promise<Outcome> {
  if (c.service === "s3" && S3_CONTROL_CALLS[c.operation]) return controlCall(server, creds, c, region);
  const m = MODULES[c.service];
  // StartLiveTail's host prefix (streaming-) would name no local host
  const client = new m.client({ ...server.configFor(creds, region), ...(c.service === "s3" ? { forcePathStyle: true } : {}), disableHostPrefix: true, maxAttempts: 1 });
  const Command = m.mod[`${c.operation}Command`] as (new (i: unknown) => unknown) | undefined;
  if (!Command) throw new Error(`${c.key}: the SDK has no ${c.operation}Command`);
  try {
    const out = (await client.send(new Command(structuredClone(c.input)))) as { $metadata?: { httpStatusCode?: number } };
    return {
      status: out.$metadata?.httpStatusCode ?? 200,
      code: "",
      message: "",
      body: JSON.stringify(out, (_k, v) => (v instanceof Uint8Array ? "<bytes>" : v)),
      out: out as Outcome["out"],
    };
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number }; Code?: string };
    return { status: err.$metadata?.httpStatusCode ?? 0, code: err.name, message: err.message };
  } finally {
    client.destroy();
  }
}

async function controlCall(server: TestServer, creds: Creds, c: Case, region?: string): Promise<Outcome> {
  const method = S3_CONTROL_CALLS[c.operation];
  const settings = c.input.PublicAccessBlockConfiguration as Parameters<typeof accountBlockXml>[0] | undefined;
  const r = await s3Control(server.url, {
    method,
    accountId: c.input.AccountId as string,
    credentials: creds,
    region,
    body: method === "PUT" ? accountBlockXml(settings ?? {}) : undefined,
  });
  const err = errorOf(r.body);
  return { status: r.status, code: err.code ?? "", message: err.message ?? "", body: r.body };
}

function refused(c: Case, o: Outcome): string | undefined {
  if (o.status >= 200 && o.status < 300) {
    if (EMPTY_ANSWERS[c.key]?.(o.out!)) return undefined;
    return `succeeded (${o.status}): ${o.body?.slice(0, 300)}`;
  }
  if (o.status < 400 || o.status > 499) return `answered ${o.status} ${o.code}: ${o.message}`;
  const ok = [...REFUSALS[c.service], ...(REFUSALS[c.key] ?? [])].some((r) => {
    const [code, message] = r.split(/:(.*)/s);
    return code === o.code && (message === undefined || o.message === message);
  });
  return ok ? undefined : `answered ${o.status} ${o.code} (not a refusal of the identifier): ${o.message}`;
}

let server: TestServer;
let world: World;
let callers: Caller[];
let matrix: Plan;

const clients = (creds?: Creds) => {
  const cfg = creds ? server.configFor(creds) : server.config;
  return {
    kms: new KMS.KMSClient(cfg),
    iam: new IAM.IAMClient(cfg),
    ecs: new ECS.ECSClient(cfg),
    ct: new CT.CloudTrailClient(cfg),
    s3: new S3.S3Client({ ...cfg, forcePathStyle: true }),
    logs: new Logs.CloudWatchLogsClient(cfg),
    sm: new SM.SecretsManagerClient(cfg),
    ssm: new SSM.SSMClient(cfg),
    org: new ORG.OrganizationsClient(cfg),
  };
};

async function buildWorld(): Promise<World> {
  const a = clients();
  const key = (await a.kms.send(new KMS.CreateKeyCommand({}))).KeyMetadata!;
  const sign = (await a.kms.send(new KMS.CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!;
  const hmac = (await a.kms.send(new KMS.CreateKeyCommand({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }))).KeyMetadata!;
  const external = (await a.kms.send(new KMS.CreateKeyCommand({ Origin: "EXTERNAL" }))).KeyMetadata!;
  await a.kms.send(new KMS.CreateAliasCommand({ AliasName: "alias/owner", TargetKeyId: key.KeyId }));
  await a.kms.send(new KMS.TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: "team", TagValue: "owner" }] }));
  const ciphertext = (await a.kms.send(new KMS.EncryptCommand({ KeyId: key.KeyId, Plaintext: new TextEncoder().encode("secret") }))).CiphertextBlob!;

  await a.iam.send(new IAM.CreateUserCommand({ UserName: "owner-user", Tags: [{ Key: "team", Value: "owner" }] }));
  await a.iam.send(new IAM.PutUserPolicyCommand({ UserName: "owner-user", PolicyName: "inline", PolicyDocument: doc }));
  const ak = (await a.iam.send(new IAM.CreateAccessKeyCommand({ UserName: "owner-user" }))).AccessKey!;
  await a.iam.send(new IAM.CreateGroupCommand({ GroupName: "owner-group" }));
  await a.iam.send(new IAM.PutGroupPolicyCommand({ GroupName: "owner-group", PolicyName: "inline", PolicyDocument: doc }));
  await a.iam.send(new IAM.AddUserToGroupCommand({ GroupName: "owner-group", UserName: "owner-user" }));
  const trustOwner = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: "sts:AssumeRole" }] });
  const role = (await a.iam.send(new IAM.CreateRoleCommand({ RoleName: "owner-role", AssumeRolePolicyDocument: trustOwner, Tags: [{ Key: "team", Value: "owner" }] }))).Role!;
  await a.iam.send(new IAM.PutRolePolicyCommand({ RoleName: "owner-role", PolicyName: "inline", PolicyDocument: doc }));
  const policy = (await a.iam.send(new IAM.CreatePolicyCommand({ PolicyName: "owner-policy", PolicyDocument: doc }))).Policy!;
  await a.iam.send(new IAM.AttachRolePolicyCommand({ RoleName: "owner-role", PolicyArn: policy.Arn }));
  await a.iam.send(new IAM.PutUserPermissionsBoundaryCommand({ UserName: "owner-user", PermissionsBoundary: policy.Arn }));
  const mfa = (await a.iam.send(new IAM.CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: "owner-mfa", Tags: [{ Key: "team", Value: "owner" }] }))).VirtualMFADevice!;
  const ownerCert = selfSigned("owner-account");
  await a.iam.send(
    new IAM.UploadServerCertificateCommand({
      ServerCertificateName: "owner-cert",
      CertificateBody: ownerCert.cert,
      PrivateKey: ownerCert.key,
      Tags: [{ Key: "team", Value: "owner" }],
    }),
  );
  const signingCert = await a.iam.send(new IAM.UploadSigningCertificateCommand({ UserName: "owner-user", CertificateBody: ownerCert.cert }));
  const sshPublicKey = await a.iam.send(new IAM.UploadSSHPublicKeyCommand({ UserName: "owner-user", SSHPublicKeyBody: sshKey().openssh }));
  const serviceCredential = await a.iam.send(new IAM.CreateServiceSpecificCredentialCommand({ UserName: "owner-user", ServiceName: "codecommit.amazonaws.com" }));
  const oidc = await a.iam.send(
    new IAM.CreateOpenIDConnectProviderCommand({ Url: "https://token.owner.example.com", ClientIDList: ["sts.amazonaws.com"], Tags: [{ Key: "team", Value: "owner" }] }),
  );
  const saml = await a.iam.send(new IAM.CreateSAMLProviderCommand({ Name: "owner-idp", SAMLMetadataDocument: startTestIdp().metadata }));
  const grant = await a.kms.send(new KMS.CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: role.Arn, RetiringPrincipal: role.Arn, Operations: ["Decrypt"] }));

  const fargateKey = await createFargateKey(a.kms, "prod");
  const clusterArn = (
    await a.ecs.send(
      new ECS.CreateClusterCommand({
        clusterName: "prod",
        tags: [{ key: "team", value: "owner" }],
        configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: fargateKey.arn } },
      }),
    )
  ).cluster!.clusterArn!;
  // the first cluster created AWSServiceRoleForECS; deleting it fails while the cluster is there
  const deletion = await a.iam.send(new IAM.DeleteServiceLinkedRoleCommand({ RoleName: "AWSServiceRoleForECS" }));
  const lastAccessed = await a.iam.send(new IAM.GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${OWNER}:user/owner-user` }));
  const taskDefArn = await registerSleeper(
    a.ecs,
    "owner-app",
    [{ name: "app", image: "busybox", command: ["sleep", "300"], essential: true, stopTimeout: 1, environment: [{ name: "DB_PASSWORD", value: "hunter2" }] }],
    { tags: [{ key: "team", value: "owner" }] },
  );
  const taskArn = (
    await a.ecs.send(
      new ECS.RunTaskCommand({ cluster: "prod", taskDefinition: taskDefArn, launchType: "FARGATE", networkConfiguration: NETWORK, tags: [{ key: "team", value: "owner" }] }),
    )
  ).tasks![0].taskArn!;
  const serviceArn = (
    await a.ecs.send(
      new ECS.CreateServiceCommand({
        cluster: "prod",
        serviceName: "web",
        taskDefinition: taskDefArn,
        desiredCount: 0,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        tags: [{ key: "team", value: "owner" }],
      }),
    )
  ).service!.serviceArn!;
  const extServiceArn = (
    await a.ecs.send(
      new ECS.CreateServiceCommand({ cluster: "prod", serviceName: "ext", desiredCount: 0, deploymentController: { type: "EXTERNAL" }, tags: [{ key: "team", value: "owner" }] }),
    )
  ).service!.serviceArn!;
  const taskSetArn = (
    await a.ecs.send(
      new ECS.CreateTaskSetCommand({
        cluster: "prod",
        service: "ext",
        taskDefinition: taskDefArn,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        scale: { value: 50, unit: "PERCENT" },
        tags: [{ key: "team", value: "owner" }],
      }),
    )
  ).taskSet!.taskSetArn!;
  const serviceDeployment = (await a.ecs.send(new ECS.ListServiceDeploymentsCommand({ cluster: "prod", service: "web" }))).serviceDeployments![0];
  const capacityProviderArn = (
    await a.ecs.send(
      new ECS.CreateCapacityProviderCommand({
        name: "owner-cp",
        autoScalingGroupProvider: {
          autoScalingGroupArn: `arn:aws:autoscaling:us-east-1:${OWNER}:autoScalingGroup:0f6b2a5e-1111-4222-8333-944455556666:autoScalingGroupName/owner`,
        },
        tags: [{ key: "team", value: "owner" }],
      }),
    )
  ).capacityProvider!.capacityProviderArn!;
  await a.ecs.send(new ECS.PutAccountSettingCommand({ name: "containerInsights", value: "enabled", principalArn: `arn:aws:iam::${OWNER}:user/owner-user` }));

  await createTrailBucket(a.s3, "owner-bucket");
  const ownerBlock = await s3Control(server.url, { method: "PUT", accountId: OWNER, body: accountBlockXml({ BlockPublicPolicy: true, RestrictPublicBuckets: true }) });
  if (ownerBlock.status !== 200) throw new Error(`the owner's account Block Public Access: ${ownerBlock.status} ${ownerBlock.body}`);
  await a.s3.send(new S3.PutObjectCommand({ Bucket: "owner-bucket", Key: "report.txt", Body: "owner's data", Tagging: "team=owner" }));
  const trail = await a.ct.send(new CT.CreateTrailCommand({ Name: "owner-trail", S3BucketName: "owner-bucket", TagsList: [{ Key: "team", Value: "owner" }] }));
  await a.ct.send(new CT.StartLoggingCommand({ Name: "owner-trail" }));
  await a.logs.send(new Logs.CreateLogGroupCommand({ logGroupName: "owner-logs", tags: { team: "owner" } }));
  await a.logs.send(new Logs.PutRetentionPolicyCommand({ logGroupName: "owner-logs", retentionInDays: 30 }));
  await a.logs.send(new Logs.CreateLogStreamCommand({ logGroupName: "owner-logs", logStreamName: "owner-stream" }));
  const clock = (await (await fetch(`${server.url}/_localfargate/clock`)).json()) as { now: string };
  await a.logs.send(
    new Logs.PutLogEventsCommand({ logGroupName: "owner-logs", logStreamName: "owner-stream", logEvents: [{ timestamp: Date.parse(clock.now), message: "owner's log line" }] }),
  );
  const secret = await a.sm.send(new SM.CreateSecretCommand({ Name: "owner-secret", SecretString: "owner's secret", KmsKeyId: key.Arn, Tags: [{ Key: "team", Value: "owner" }] }));
  const ownerOnly = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: "secretsmanager:*", Resource: "*" }],
  });
  await a.sm.send(new SM.PutResourcePolicyCommand({ SecretId: secret.ARN, ResourcePolicy: ownerOnly }));
  // read once, so that LastAccessedDate is set before the owner's own reads in ownerState
  await a.sm.send(new SM.GetSecretValueCommand({ SecretId: secret.ARN }));
  await a.ssm.send(
    new SSM.PutParameterCommand({ Name: "/owner/param", Value: "owner's parameter", Type: "SecureString", KeyId: key.Arn, Tags: [{ Key: "team", Value: "owner" }] }),
  );
  await a.ssm.send(new SSM.LabelParameterVersionCommand({ Name: "/owner/param", Labels: ["prod"] }));

  const org = await buildOrganization(a.org);

  // The other account's own resources, for the mixed cases (and an organization of its own, so
  // its calls reach past "not in an organization" to the lookups).
  const b = clients({ accessKeyId: OTHER, secretAccessKey: "test" });
  await b.org.send(new ORG.CreateOrganizationCommand({}));
  const ownKey = (await b.kms.send(new KMS.CreateKeyCommand({}))).KeyMetadata!;
  await b.kms.send(new KMS.CreateAliasCommand({ AliasName: "alias/other-own", TargetKeyId: ownKey.KeyId }));
  const ownCluster = (await b.ecs.send(new ECS.CreateClusterCommand({ clusterName: "other-own" }))).cluster!.clusterArn!;
  await b.s3.send(new S3.CreateBucketCommand({ Bucket: "other-own-bucket" }));
  return {
    keyArn: key.Arn!,
    keyId: key.KeyId!,
    signKeyArn: sign.Arn!,
    hmacKeyArn: hmac.Arn!,
    externalKeyArn: external.Arn!,
    aliasName: "alias/owner",
    ciphertext,
    grantId: grant.GrantId!,
    grantToken: grant.GrantToken!,
    userName: "owner-user",
    userArn: `arn:aws:iam::${OWNER}:user/owner-user`,
    groupName: "owner-group",
    roleName: "owner-role",
    roleArn: role.Arn!,
    policyArn: policy.Arn!,
    accessKeyId: ak.AccessKeyId!,
    mfaSerial: mfa.SerialNumber!,
    serverCertName: "owner-cert",
    signingCertId: signingCert.Certificate!.CertificateId!,
    sshKeyId: sshPublicKey.SSHPublicKey!.SSHPublicKeyId!,
    serviceCredentialId: serviceCredential.ServiceSpecificCredential!.ServiceSpecificCredentialId!,
    oidcProviderArn: oidc.OpenIDConnectProviderArn!,
    samlProviderArn: saml.SAMLProviderArn!,
    deletionTaskId: deletion.DeletionTaskId!,
    lastAccessedJobId: lastAccessed.JobId!,
    clusterArn,
    taskDefArn,
    taskArn,
    serviceArn,
    extServiceArn,
    taskSetArn,
    serviceDeploymentArn: serviceDeployment.serviceDeploymentArn!,
    serviceRevisionArn: serviceDeployment.targetServiceRevisionArn!,
    capacityProviderArn,
    trailName: "owner-trail",
    trailArn: trail.TrailARN!,
    bucket: "owner-bucket",
    objectKey: "report.txt",
    logGroupName: "owner-logs",
    logGroupArn: `arn:aws:logs:us-east-1:${OWNER}:log-group:owner-logs`,
    secretArn: secret.ARN!,
    secretVersionId: secret.VersionId!,
    parameterArn: `arn:aws:ssm:us-east-1:${OWNER}:parameter/owner/param`,
    org,
    own: { keyArn: ownKey.Arn!, aliasName: "alias/other-own", userName: "admin", clusterArn: ownCluster, bucket: "other-own-bucket" },
  };
}

/** The first account's organization: an OU holding a created member account, an SCP and a tag policy attached to it, an open invitation. */
async function buildOrganization(org: ORG.OrganizationsClient): Promise<World["org"]> {
  await org.send(new ORG.CreateOrganizationCommand({}));
  const rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
  await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" }));
  const ouId = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "owner-ou", Tags: [{ Key: "team", Value: "owner" }] }))).OrganizationalUnit!.Id!;
  const created = await org.send(new ORG.CreateAccountCommand({ AccountName: "owner-member", Email: "owner-member@example.com", Tags: [{ Key: "team", Value: "owner" }] }));
  const createRequestId = created.CreateAccountStatus!.Id!;
  const accountId = (await org.send(new ORG.DescribeCreateAccountStatusCommand({ CreateAccountRequestId: createRequestId }))).CreateAccountStatus!.AccountId!;
  await org.send(new ORG.MoveAccountCommand({ AccountId: accountId, SourceParentId: rootId, DestinationParentId: ouId }));
  const policyId = (
    await org.send(new ORG.CreatePolicyCommand({ Name: "owner-scp", Description: "owner", Type: "SERVICE_CONTROL_POLICY", Content: doc, Tags: [{ Key: "team", Value: "owner" }] }))
  ).Policy!.PolicySummary!.Id!;
  await org.send(new ORG.AttachPolicyCommand({ PolicyId: policyId, TargetId: ouId }));
  await org.send(new ORG.AttachPolicyCommand({ PolicyId: policyId, TargetId: accountId }));
  await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "TAG_POLICY" }));
  const tagPolicy = { tags: { team: { tag_key: { "@@assign": "Team" }, tag_value: { "@@assign": ["owner"] } } } };
  const tagPolicyId = (await org.send(new ORG.CreatePolicyCommand({ Name: "owner-tags", Description: "owner", Type: "TAG_POLICY", Content: JSON.stringify(tagPolicy) }))).Policy!
    .PolicySummary!.Id!;
  await org.send(new ORG.AttachPolicyCommand({ PolicyId: tagPolicyId, TargetId: ouId }));
  await org.send(new ORG.EnableAWSServiceAccessCommand({ ServicePrincipal: "cloudtrail.amazonaws.com" }));
  await org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: accountId, ServicePrincipal: "cloudtrail.amazonaws.com" }));
  const handshakeId = (await org.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: "444444444444" } }))).Handshake!.Id!;
  return { accountId, ouId, rootId, policyId, handshakeId, createRequestId };
}

/** The first account's organization as its management account sees it. */
async function organizationState(org: ORG.OrganizationsClient, w: World): Promise<unknown> {
  const o = w.org;
  const targets = [o.rootId, o.ouId, o.accountId];
  return {
    organization: (await org.send(new ORG.DescribeOrganizationCommand({}))).Organization,
    roots: (await org.send(new ORG.ListRootsCommand({}))).Roots,
    accounts: (await org.send(new ORG.ListAccountsCommand({}))).Accounts?.map((a) => [a.Id, a.Name, a.Email]),
    ous: (await org.send(new ORG.ListOrganizationalUnitsForParentCommand({ ParentId: o.rootId }))).OrganizationalUnits,
    parents: (await org.send(new ORG.ListParentsCommand({ ChildId: o.accountId }))).Parents,
    policy: (await org.send(new ORG.DescribePolicyCommand({ PolicyId: o.policyId }))).Policy,
    policies: (await org.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY" }))).Policies?.map((p) => p.Id),
    tagPolicies: (await org.send(new ORG.ListPoliciesCommand({ Filter: "TAG_POLICY" }))).Policies?.map((p) => [p.Id, p.Name]),
    effectiveTags: (await org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "TAG_POLICY", TargetId: o.accountId }))).EffectivePolicy?.PolicyContent,
    attached: await Promise.all(
      targets.map(async (t) => (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: t, Filter: "SERVICE_CONTROL_POLICY" }))).Policies?.map((p) => p.Id)),
    ),
    tagAttached: await Promise.all(
      targets.map(async (t) => (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: t, Filter: "TAG_POLICY" }))).Policies?.map((p) => p.Id)),
    ),
    tags: await Promise.all([o.ouId, o.accountId, o.policyId].map(async (r) => (await org.send(new ORG.ListTagsForResourceCommand({ ResourceId: r }))).Tags)),
    handshakes: (await org.send(new ORG.ListHandshakesForOrganizationCommand({}))).Handshakes?.map((h) => [h.Id, h.State]),
    delegated: (await org.send(new ORG.ListDelegatedAdministratorsCommand({}))).DelegatedAdministrators?.map((d) => d.Id),
    services: (await org.send(new ORG.ListAWSServiceAccessForOrganizationCommand({}))).EnabledServicePrincipals?.map((x) => x.ServicePrincipal),
    created: (await org.send(new ORG.ListCreateAccountStatusCommand({}))).CreateAccountStatuses?.map((c) => [c.Id, c.State]),
  };
}

/** Everything of the first account's that a call could change, described as the first account. */
async function ownerState(w: World): Promise<unknown> {
  const a = clients();
  const keys: Record<string, unknown> = {};
  for (const k of [w.keyArn, w.signKeyArn, w.hmacKeyArn, w.externalKeyArn]) {
    const m = (await a.kms.send(new KMS.DescribeKeyCommand({ KeyId: k }))).KeyMetadata!;
    keys[k] = {
      state: m.KeyState,
      enabled: m.Enabled,
      description: m.Description,
      deletion: m.DeletionDate,
      policy: (await a.kms.send(new KMS.GetKeyPolicyCommand({ KeyId: k }))).Policy,
      tags: (await a.kms.send(new KMS.ListResourceTagsCommand({ KeyId: k }))).Tags,
      grants: (await a.kms.send(new KMS.ListGrantsCommand({ KeyId: k }))).Grants?.map((g) => g.GrantId),
      rotation: m.KeySpec === "SYMMETRIC_DEFAULT" && m.Origin === "AWS_KMS" ? (await a.kms.send(new KMS.GetKeyRotationStatusCommand({ KeyId: k }))).KeyRotationEnabled : undefined,
    };
  }
  const aliases = (await a.kms.send(new KMS.ListAliasesCommand({}))).Aliases?.filter((x) => !x.AliasName?.startsWith("alias/aws/")).map((x) => [x.AliasName, x.TargetKeyId]);
  const user = (await a.iam.send(new IAM.GetUserCommand({ UserName: w.userName }))).User!;
  const role = (await a.iam.send(new IAM.GetRoleCommand({ RoleName: w.roleName }))).Role!;
  const iam = {
    user: { path: user.Path, boundary: user.PermissionsBoundary, tags: user.Tags },
    userPolicies: (await a.iam.send(new IAM.ListUserPoliciesCommand({ UserName: w.userName }))).PolicyNames,
    userInline: (await a.iam.send(new IAM.GetUserPolicyCommand({ UserName: w.userName, PolicyName: "inline" }))).PolicyDocument,
    userAttached: (await a.iam.send(new IAM.ListAttachedUserPoliciesCommand({ UserName: w.userName }))).AttachedPolicies,
    accessKeys: (await a.iam.send(new IAM.ListAccessKeysCommand({ UserName: w.userName }))).AccessKeyMetadata?.map((k) => [k.AccessKeyId, k.Status]),
    groups: (await a.iam.send(new IAM.ListGroupsForUserCommand({ UserName: w.userName }))).Groups?.map((g) => g.GroupName),
    groupPolicies: (await a.iam.send(new IAM.ListGroupPoliciesCommand({ GroupName: w.groupName }))).PolicyNames,
    groupAttached: (await a.iam.send(new IAM.ListAttachedGroupPoliciesCommand({ GroupName: w.groupName }))).AttachedPolicies,
    role: { trust: role.AssumeRolePolicyDocument, description: role.Description, maxSession: role.MaxSessionDuration, boundary: role.PermissionsBoundary, tags: role.Tags },
    rolePolicies: (await a.iam.send(new IAM.ListRolePoliciesCommand({ RoleName: w.roleName }))).PolicyNames,
    roleAttached: (await a.iam.send(new IAM.ListAttachedRolePoliciesCommand({ RoleName: w.roleName }))).AttachedPolicies,
    policy: (await a.iam.send(new IAM.GetPolicyCommand({ PolicyArn: w.policyArn }))).Policy?.DefaultVersionId,
    policyVersions: (await a.iam.send(new IAM.ListPolicyVersionsCommand({ PolicyArn: w.policyArn }))).Versions?.map((v) => v.VersionId),
    users: (await a.iam.send(new IAM.ListUsersCommand({}))).Users?.map((u) => u.UserName),
    roles: (await a.iam.send(new IAM.ListRolesCommand({}))).Roles?.map((r) => r.RoleName),
    mfa: (await a.iam.send(new IAM.ListVirtualMFADevicesCommand({}))).VirtualMFADevices?.map((d) => [d.SerialNumber, d.User?.UserName]),
    mfaTags: (await a.iam.send(new IAM.ListMFADeviceTagsCommand({ SerialNumber: w.mfaSerial }))).Tags,
    serverCert: (await a.iam.send(new IAM.GetServerCertificateCommand({ ServerCertificateName: w.serverCertName }))).ServerCertificate,
    signingCerts: (await a.iam.send(new IAM.ListSigningCertificatesCommand({ UserName: w.userName }))).Certificates,
    sshKeys: (await a.iam.send(new IAM.ListSSHPublicKeysCommand({ UserName: w.userName }))).SSHPublicKeys,
    serviceCredentials: (await a.iam.send(new IAM.ListServiceSpecificCredentialsCommand({ UserName: w.userName }))).ServiceSpecificCredentials,
    oidc: await a.iam.send(new IAM.GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: w.oidcProviderArn })).then((o) => ({ ...o, $metadata: undefined })),
    saml: (await a.iam.send(new IAM.GetSAMLProviderCommand({ SAMLProviderArn: w.samlProviderArn }))).SAMLMetadataDocument,
    linkedRole: (await a.iam.send(new IAM.GetRoleCommand({ RoleName: "AWSServiceRoleForECS" }))).Role!.Arn,
  };
  const cluster = (await a.ecs.send(new ECS.DescribeClustersCommand({ clusters: [w.clusterArn], include: ["TAGS", "CONFIGURATIONS", "SETTINGS"] }))).clusters![0];
  const td = await a.ecs.send(new ECS.DescribeTaskDefinitionCommand({ taskDefinition: w.taskDefArn, include: ["TAGS"] }));
  const task = (await a.ecs.send(new ECS.DescribeTasksCommand({ cluster: w.clusterArn, tasks: [w.taskArn], include: ["TAGS"] }))).tasks![0];
  const service = (await a.ecs.send(new ECS.DescribeServicesCommand({ cluster: w.clusterArn, services: [w.serviceArn], include: ["TAGS"] }))).services![0];
  const ecs = {
    cluster: { status: cluster.status, tags: cluster.tags, configuration: cluster.configuration, settings: cluster.settings, capacityProviders: cluster.capacityProviders },
    taskDef: { status: td.taskDefinition!.status, tags: td.tags },
    task: { desired: task.desiredStatus, tags: task.tags },
    service: { status: service.status, desired: service.desiredCount, taskDefinition: service.taskDefinition, tags: service.tags },
    services: (await a.ecs.send(new ECS.ListServicesCommand({ cluster: w.clusterArn }))).serviceArns,
    taskSets: (await a.ecs.send(new ECS.DescribeTaskSetsCommand({ cluster: w.clusterArn, service: w.extServiceArn, include: ["TAGS"] }))).taskSets?.map((t) => [
      t.taskSetArn,
      t.status,
      t.scale,
      t.tags,
    ]),
    extService: (await a.ecs.send(new ECS.DescribeServicesCommand({ cluster: w.clusterArn, services: [w.extServiceArn] }))).services!.map((x) => [
      x.status,
      x.desiredCount,
      x.taskDefinition,
    ]),
    serviceDeployments: (await a.ecs.send(new ECS.DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [w.serviceDeploymentArn] }))).serviceDeployments?.map((d) => [
      d.status,
      d.rollback,
    ]),
    tasks: (await a.ecs.send(new ECS.ListTasksCommand({ cluster: w.clusterArn }))).taskArns,
    capacityProviders: (await a.ecs.send(new ECS.DescribeCapacityProvidersCommand({ include: ["TAGS"] }))).capacityProviders,
    settings: (await a.ecs.send(new ECS.ListAccountSettingsCommand({ principalArn: w.userArn }))).settings,
  };
  const trail = (await a.ct.send(new CT.GetTrailCommand({ Name: w.trailArn }))).Trail!;
  const cloudtrail = {
    trail: { bucket: trail.S3BucketName, prefix: trail.S3KeyPrefix, kms: trail.KmsKeyId, multiRegion: trail.IsMultiRegionTrail },
    logging: (await a.ct.send(new CT.GetTrailStatusCommand({ Name: w.trailArn }))).IsLogging,
    selectors: (await a.ct.send(new CT.GetEventSelectorsCommand({ TrailName: w.trailArn }))).EventSelectors,
    tags: (await a.ct.send(new CT.ListTagsCommand({ ResourceIdList: [w.trailArn] }))).ResourceTagList,
  };
  const object = await (await a.s3.send(new S3.GetObjectCommand({ Bucket: w.bucket, Key: w.objectKey }))).Body!.transformToString();
  const objectTags = (await a.s3.send(new S3.GetObjectTaggingCommand({ Bucket: w.bucket, Key: w.objectKey }))).TagSet;
  const accountBlock = (await s3Control(server.url, { method: "GET", accountId: OWNER })).body.replace(/<RequestId>.*$/s, "");
  const s3 = { buckets: (await a.s3.send(new S3.ListBucketsCommand({}))).Buckets?.map((x) => x.Name), object, objectTags, accountBlock };
  const group = (await a.logs.send(new Logs.DescribeLogGroupsCommand({}))).logGroups?.map((g) => [g.logGroupName, g.retentionInDays, g.kmsKeyId, g.storedBytes]);
  const logs = {
    groups: group,
    tags: (await a.logs.send(new Logs.ListTagsForResourceCommand({ resourceArn: w.logGroupArn }))).tags,
    streams: (await a.logs.send(new Logs.DescribeLogStreamsCommand({ logGroupName: w.logGroupName }))).logStreams?.map((x) => [x.logStreamName, x.lastEventTimestamp]),
    events: (await a.logs.send(new Logs.GetLogEventsCommand({ logGroupName: w.logGroupName, logStreamName: "owner-stream" }))).events?.map((e) => e.message),
  };
  const secret = await a.sm.send(new SM.DescribeSecretCommand({ SecretId: w.secretArn }));
  const secrets = {
    describe: { ...secret, $metadata: undefined },
    value: (await a.sm.send(new SM.GetSecretValueCommand({ SecretId: w.secretArn }))).SecretString,
    policy: (await a.sm.send(new SM.GetResourcePolicyCommand({ SecretId: w.secretArn }))).ResourcePolicy,
  };
  const param = (await a.ssm.send(new SSM.GetParameterHistoryCommand({ Name: "/owner/param", WithDecryption: true }))).Parameters;
  const parameters = { history: param, tags: (await a.ssm.send(new SSM.ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/owner/param" }))).TagList };
  const organizations = await organizationState(a.org, w);
  return { keys, aliases, iam, ecs, cloudtrail, s3, logs, secrets, parameters, organizations };
}

beforeAll(async () => {
  server = await startTestServer();
  world = await buildWorld();
  callers = await otherAccountCallers(server);
  matrix = plan(server.app.services.values(), world);
});
afterAll(async () => {
  await server?.close();
});

describe("operations without an identifier (not called)", () => {
  for (const [key, reason] of Object.entries(SKIPPED)) it.skip(`${key}: ${reason}`, () => {});
});

describe("cross-account matrix", () => {
  it("knows how to call every implemented operation that takes an identifier", () => {
    expect(matrix.unknown).toEqual([]);
    // the tables name only operations that exist
    const ops = new Set([...server.app.services.values()].flatMap((d) => Object.keys(d.operations).map((o) => `${d.name}.${o}`)));
    const stale = [...Object.keys(SKIPPED), ...Object.keys(EXTRA), ...Object.keys(NEW_NAMES), ...Object.keys(NOT_IDENTIFIERS), ...Object.keys(EMPTY_ANSWERS)].filter(
      (k) => !ops.has(k),
    );
    expect(stale).toEqual([]);
    // 145 operations in 188 cases when this was written: the matrix must not quietly shrink
    expect(new Set(matrix.cases.map((c) => c.key)).size).toBeGreaterThanOrEqual(145);
    // every service is in the matrix, and most of what is implemented is called
    expect(new Set(matrix.cases.map((c) => c.service))).toEqual(
      new Set(["kms", "ecs", "iam", "cloudtrail", "sts", "s3", "organizations", "cloudwatchlogs", "secretsmanager", "ssm"]),
    );
    for (const s of matrix.skipped) expect(s.reason, s.key).toMatch(/\S/);
  });

  it("refuses the first account's identifiers to the second account's root and administrator, and changes nothing", async () => {
    const before = await ownerState(world);
    const wrong: string[] = [];
    for (const caller of callers) {
      for (const c of matrix.cases) {
        const o = await call(server, caller.creds, c);
        const why = refused(c, o);
        if (why) wrong.push(`${caller.label}: ${c.key} (${c.shape}) ${why}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await ownerState(world)).toEqual(before);
  }, 120_000);

  it("refuses the first account's own identifiers from another Region (Regional services), and changes nothing", async () => {
    const before = await ownerState(world);
    const wrong: string[] = [];
    for (const c of matrix.cases) {
      if (!REGIONAL.has(c.service) || GLOBAL_IDENTIFIER.has(c.key)) continue;
      const o = await call(server, server.config.credentials, c, "us-west-2");
      const why = refused(c, o);
      if (why) wrong.push(`owner in us-west-2: ${c.key} (${c.shape}) ${why}`);
    }
    expect(wrong).toEqual([]);
    expect(await ownerState(world)).toEqual(before);
  }, 120_000);
});
