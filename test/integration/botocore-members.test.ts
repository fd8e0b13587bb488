/**
 * Members and enum values only the newer botocore models have (scripts/gen-shapes.ts lays them
 * over the Smithy tables): each is either honoured or refused with an error, never dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteCapacityProviderCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeCapacityProvidersCommand,
  DescribeServicesCommand,
  ECSClient,
  ListAccountSettingsCommand,
  ListServiceDeploymentsCommand,
  ListServicesCommand,
  ListTasksCommand,
  PutAccountSettingCommand,
  RunTaskCommand,
  UpdateCapacityProviderCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { DecryptCommand, KMSClient, ReEncryptCommand } from "@aws-sdk/client-kms";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, ListServiceSpecificCredentialsCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateSecretCommand, ListSecretsCommand, SecretsManagerClient, UpdateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { CloudTrailClient, CreateTrailCommand, GetInsightSelectorsCommand, PutInsightSelectorsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateOrganizationCommand,
  EnablePolicyTypeCommand,
  ListHandshakesForAccountCommand,
  ListRootsCommand,
  OrganizationsClient,
  TagResourceCommand,
} from "@aws-sdk/client-organizations";
import { S3Client } from "@aws-sdk/client-s3";
import { createTrailBucket } from "./cloudtrail-helpers.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createKey, expectKmsError } from "./kms-helpers.ts";
import { expectAwsError } from "./iam-helpers.ts";
import { NETWORK, registerSleeper } from "./ecs-helpers.ts";

let s: TestServer;
let ecs: ECSClient;
let kms: KMSClient;
let iam: IAMClient;
let logs: CloudWatchLogsClient;
let sm: SecretsManagerClient;

beforeAll(async () => {
  s = await startTestServer();
  ecs = new ECSClient(s.config);
  kms = new KMSClient(s.config);
  iam = new IAMClient(s.config);
  logs = new CloudWatchLogsClient(s.config);
  sm = new SecretsManagerClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

/** A request with members the installed SDK's TypeScript types may not have yet. */
const newer = <T>(input: Record<string, unknown>): T => input as T;

describe("KMS: CiphertextBlob is optional in the newer model", () => {
  it("a DryRun with IGNORE_CIPHERTEXT needs no ciphertext; any other Decrypt or ReEncrypt does", async () => {
    const k = await createKey(kms);
    await expectKmsError(kms.send(new DecryptCommand(newer({ KeyId: k.KeyId, DryRun: true, DryRunModifiers: ["IGNORE_CIPHERTEXT"] }))), "DryRunOperationException");
    await expectKmsError(
      kms.send(new ReEncryptCommand(newer({ SourceKeyId: k.KeyId, DestinationKeyId: k.KeyId, DryRun: true, DryRunModifiers: ["IGNORE_CIPHERTEXT"] }))),
      "DryRunOperationException",
    );
    const nullBlob = "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null";
    await expectKmsError(kms.send(new DecryptCommand(newer({ KeyId: k.KeyId }))), "ValidationException", nullBlob);
    await expectKmsError(kms.send(new DecryptCommand(newer({ KeyId: k.KeyId, DryRun: true }))), "ValidationException", nullBlob);
    await expectKmsError(kms.send(new ReEncryptCommand(newer({ DestinationKeyId: k.KeyId }))), "ValidationException", nullBlob);
  });
});

describe("ECS", () => {
  it("RunTask with launchType MANAGED_INSTANCES is refused as AWS refuses a launch type with no container instances", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "mi" }));
    const td = await registerSleeper(ecs, "mi-app");
    await expectAwsError(
      ecs.send(new RunTaskCommand(newer({ cluster: "mi", taskDefinition: td, launchType: "MANAGED_INSTANCES", networkConfiguration: NETWORK }))),
      "InvalidParameterException",
      400,
      "No Container Instances were found in your cluster.",
    );
  });

  it("ListTasks by daemonName finds no task (daemons need Managed Instances); ListServices by resourceManagementType", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "rmt" }));
    const td = await registerSleeper(ecs, "rmt-app");
    await ecs.send(new CreateServiceCommand({ cluster: "rmt", serviceName: "idle", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
    expect((await ecs.send(new ListTasksCommand(newer({ cluster: "rmt", daemonName: "agent" })))).taskArns).toEqual([]);
    const arns = (await ecs.send(new ListServicesCommand({ cluster: "rmt" }))).serviceArns!;
    expect(arns).toHaveLength(1);
    expect((await ecs.send(new ListServicesCommand(newer({ cluster: "rmt", resourceManagementType: "CUSTOMER" })))).serviceArns).toEqual(arns);
    expect((await ecs.send(new ListServicesCommand(newer({ cluster: "rmt", resourceManagementType: "ECS" })))).serviceArns).toEqual([]);
    const svc = (await ecs.send(new DescribeServicesCommand({ cluster: "rmt", services: ["idle"] }))).services![0] as {
      resourceManagementType?: string;
      deploymentConfiguration?: object;
    };
    expect(svc.resourceManagementType).toBe("CUSTOMER");
    expect(svc.deploymentConfiguration).toMatchObject({ strategy: "ROLLING" });
    // the newer output members: the current service deployment and revision, from the service's history
    const history = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: "rmt", service: "idle" }))).serviceDeployments!;
    const current = svc as { currentServiceDeployment?: string; currentServiceRevisions?: { arn?: string; requestedTaskCount?: number }[] };
    expect(current.currentServiceDeployment).toBe(history[0].serviceDeploymentArn);
    expect(current.currentServiceRevisions).toEqual([expect.objectContaining({ arn: history[0].targetServiceRevisionArn, requestedTaskCount: 0 })]);
    // the newer ServiceDeploymentStatus value is a filter like the others
    expect((await ecs.send(new ListServiceDeploymentsCommand(newer({ cluster: "rmt", service: "idle", status: ["ROLLBACK_REQUESTED"] })))).serviceDeployments).toEqual([]);
  });

  it("deployment strategies other than ROLLING, and what only they use, are refused; ROLLING is kept", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "bg" }));
    const td = await registerSleeper(ecs, "bg-app");
    const base = { cluster: "bg", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK };
    for (const [deploymentConfiguration, message] of [
      [{ strategy: "BLUE_GREEN" }, "Deployment strategy BLUE_GREEN is not supported by localfargate; use ROLLING."],
      [{ strategy: "CANARY", canaryConfiguration: { canaryPercent: 10 } }, "Deployment strategy CANARY is not supported by localfargate; use ROLLING."],
      [{ bakeTimeInMinutes: 5 }, "bakeTimeInMinutes applies to BLUE_GREEN, LINEAR and CANARY deployments, which localfargate does not run."],
    ] as const) {
      await expectAwsError(ecs.send(new CreateServiceCommand(newer({ ...base, serviceName: "bg", deploymentConfiguration }))), "InvalidParameterException", 400, message);
    }
    const created = await ecs.send(new CreateServiceCommand(newer({ ...base, serviceName: "rolling", deploymentConfiguration: { strategy: "ROLLING", maximumPercent: 150 } })));
    expect(created.service!.deploymentConfiguration).toMatchObject({ strategy: "ROLLING", maximumPercent: 150 });
    await expectAwsError(
      ecs.send(new UpdateServiceCommand(newer({ cluster: "bg", service: "rolling", deploymentConfiguration: { strategy: "LINEAR" } }))),
      "InvalidParameterException",
      400,
      "Deployment strategy LINEAR is not supported by localfargate; use ROLLING.",
    );
    await expectAwsError(
      ecs.send(new UpdateServiceCommand(newer({ cluster: "bg", service: "rolling", deploymentController: { type: "CODE_DEPLOY" } }))),
      "InvalidParameterException",
      400,
      "Changing the deployment controller from ECS to CODE_DEPLOY is not supported by localfargate.",
    );
    const same = await ecs.send(new UpdateServiceCommand(newer({ cluster: "bg", service: "rolling", deploymentController: { type: "ECS" }, desiredCount: 0 })));
    expect(same.service!.deploymentController).toEqual({ type: "ECS" });
  });

  it("Managed Instances capacity providers and the cluster-scoped capacity provider calls are refused", async () => {
    const unsupported = "Amazon ECS Managed Instances capacity providers are not supported by localfargate.";
    const mi = {
      infrastructureRoleArn: "arn:aws:iam::000000000000:role/infra",
      instanceLaunchTemplate: { ec2InstanceProfileArn: "arn:aws:iam::000000000000:instance-profile/p", networkConfiguration: { subnets: ["subnet-12345678"] } },
    };
    await expectAwsError(ecs.send(new CreateCapacityProviderCommand(newer({ name: "mi", managedInstancesProvider: mi }))), "InvalidParameterException", 400, unsupported);
    await expectAwsError(
      ecs.send(new CreateCapacityProviderCommand(newer({ name: "none" }))),
      "InvalidParameterException",
      400,
      "Either autoScalingGroupProvider or managedInstancesProvider must be specified.",
    );
    const scoped = "The cluster parameter applies to Amazon ECS Managed Instances capacity providers, which localfargate does not support.";
    const asg = { autoScalingGroupArn: "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:0f6b2a5e-1111-4222-8333-944455556666:autoScalingGroupName/mi-asg" };
    await ecs.send(new CreateCapacityProviderCommand({ name: "asg-cp", autoScalingGroupProvider: asg }));
    await expectAwsError(
      ecs.send(new CreateCapacityProviderCommand(newer({ name: "scoped", cluster: "mi", autoScalingGroupProvider: asg }))),
      "InvalidParameterException",
      400,
      scoped,
    );
    await expectAwsError(ecs.send(new DeleteCapacityProviderCommand(newer({ capacityProvider: "asg-cp", cluster: "mi" }))), "InvalidParameterException", 400, scoped);
    await expectAwsError(
      ecs.send(new UpdateCapacityProviderCommand(newer({ name: "asg-cp", cluster: "mi", autoScalingGroupProvider: {} }))),
      "InvalidParameterException",
      400,
      scoped,
    );
    // DescribeCapacityProviders' cluster lists the providers associated with that cluster only
    await ecs.send(new CreateClusterCommand({ clusterName: "with-fargate", capacityProviders: ["FARGATE"] }));
    const names = async (input: Record<string, unknown>) => (await ecs.send(new DescribeCapacityProvidersCommand(newer(input)))).capacityProviders!.map((p) => p.name);
    expect(await names({})).toEqual(["FARGATE", "FARGATE_SPOT", "asg-cp"]);
    const types = (await ecs.send(new DescribeCapacityProvidersCommand({}))).capacityProviders!.map((p) => (p as { type?: string }).type);
    expect(types).toEqual(["FARGATE", "FARGATE_SPOT", "EC2_AUTOSCALING"]);
    expect(await names({ cluster: "with-fargate" })).toEqual(["FARGATE"]);
    const named = await ecs.send(new DescribeCapacityProvidersCommand(newer({ cluster: "with-fargate", capacityProviders: ["FARGATE", "asg-cp"] })));
    expect(named.capacityProviders!.map((p) => p.name)).toEqual(["FARGATE"]);
    expect(named.failures!.map((f) => f.reason)).toEqual(["MISSING"]);
    await expectAwsError(ecs.send(new DescribeCapacityProvidersCommand(newer({ cluster: "no-such-cluster" }))), "ClusterNotFoundException", 400);
  });

  it("DeleteTaskDefinitions reports the newer deleteRequestedAt", async () => {
    const td = await registerSleeper(ecs, "deleted-app");
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: td }));
    const del = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: [td] }));
    const def = del.taskDefinitions![0] as { status?: string; deregisteredAt?: Date; deleteRequestedAt?: Date };
    expect(def.status).toBe("DELETE_IN_PROGRESS");
    expect(def.deleteRequestedAt).toBeInstanceOf(Date);
    expect(def.deleteRequestedAt!.getTime()).toBeGreaterThanOrEqual(def.deregisteredAt!.getTime());
  });

  it("the newer account settings defaultLogDriverMode and fargateEventWindows are kept, with their defaults", async () => {
    const all = (await ecs.send(new ListAccountSettingsCommand({ effectiveSettings: true }))).settings!;
    expect(all.find((x) => x.name === ("defaultLogDriverMode" as never))?.value).toBe("non-blocking");
    expect(all.find((x) => x.name === ("fargateEventWindows" as never))?.value).toBe("disabled");
    const put = await ecs.send(new PutAccountSettingCommand(newer({ name: "defaultLogDriverMode", value: "blocking" })));
    expect(put.setting).toMatchObject({ name: "defaultLogDriverMode", value: "blocking" });
    await expectAwsError(ecs.send(new PutAccountSettingCommand(newer({ name: "fargateEventWindows", value: "on" }))), "InvalidParameterException", 400);
  });
});

describe("IAM", () => {
  it("UpdateAccessKey refuses the newer Expired status, which only the service sets", async () => {
    await iam.send(new CreateUserCommand({ UserName: "expiring" }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "expiring" }))).AccessKey!;
    await expectAwsError(
      iam.send(new UpdateAccessKeyCommand(newer({ UserName: "expiring", AccessKeyId: key.AccessKeyId, Status: "Expired" }))),
      "InvalidInputException",
      400,
      "Status Expired cannot be set: use Active or Inactive.",
    );
    expect((await iam.send(new ListAccessKeysCommand({ UserName: "expiring" }))).AccessKeyMetadata![0].Status).toBe("Active");
  });

  it("ListServiceSpecificCredentials takes AllUsers, Marker and MaxItems", async () => {
    const all = await iam.send(new ListServiceSpecificCredentialsCommand(newer({ AllUsers: true, MaxItems: 5 })));
    expect(all.ServiceSpecificCredentials).toEqual([]); // none issued in this test's account
    expect((all as { IsTruncated?: boolean }).IsTruncated).toBe(false);
    await expectAwsError(
      iam.send(new ListServiceSpecificCredentialsCommand(newer({ AllUsers: true, UserName: "expiring" }))),
      "InvalidInputException",
      400,
      "UserName and AllUsers cannot be specified together.",
    );
    await expectAwsError(iam.send(new ListServiceSpecificCredentialsCommand(newer({ Marker: "not-ours" }))), "InvalidInputException", 400, "Invalid Marker.");
  });
});

describe("CloudWatch Logs", () => {
  it("DescribeLogGroups filters by logGroupIdentifiers (names or own ARNs); protection and the DELIVERY class are refused", async () => {
    for (const name of ["/id/a", "/id/b", "/id/c"]) await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    const arn = `arn:aws:logs:us-east-1:000000000000:log-group:/id/c`;
    const found = (await logs.send(new DescribeLogGroupsCommand(newer({ logGroupIdentifiers: ["/id/a", arn, "/id/none"] })))).logGroups!;
    expect(found.map((g) => g.logGroupName)).toEqual(["/id/a", "/id/c"]);
    expect((found[0] as { deletionProtectionEnabled?: boolean }).deletionProtectionEnabled).toBe(false);
    await expectAwsError(logs.send(new DescribeLogGroupsCommand(newer({ logGroupIdentifiers: ["/id/a"], logGroupNamePrefix: "/id" }))), "InvalidParameterException", 400);
    await expectAwsError(
      logs.send(new DescribeLogGroupsCommand(newer({ logGroupIdentifiers: ["arn:aws:logs:us-east-1:111111111111:log-group:/id/a"] }))),
      "InvalidParameterException",
      400,
    );
    await expectAwsError(
      logs.send(new CreateLogGroupCommand(newer({ logGroupName: "/id/kept", deletionProtectionEnabled: true }))),
      "InvalidParameterException",
      400,
      "Log group deletion protection is not supported by localfargate.",
    );
    await expectAwsError(
      logs.send(new CreateLogGroupCommand(newer({ logGroupName: "/id/delivery", logGroupClass: "DELIVERY" }))),
      "InvalidParameterException",
      400,
      "The DELIVERY log group class is not supported by localfargate.",
    );
    await logs.send(new CreateLogGroupCommand(newer({ logGroupName: "/id/unprotected", deletionProtectionEnabled: false })));
  });
});

describe("Secrets Manager", () => {
  it("ListSecrets sorts by SortBy; a managed external secret's Type is refused", async () => {
    for (const name of ["zeta", "alpha", "mid"]) await sm.send(new CreateSecretCommand({ Name: name, SecretString: "x" }));
    const names = async (input: Record<string, unknown>) => (await sm.send(new ListSecretsCommand(newer(input)))).SecretList!.map((e) => e.Name);
    expect(await names({})).toEqual(["zeta", "alpha", "mid"]);
    expect(await names({ SortBy: "name" })).toEqual(["alpha", "mid", "zeta"]);
    expect(await names({ SortBy: "name", SortOrder: "desc" })).toEqual(["zeta", "mid", "alpha"]);
    const first = await sm.send(new ListSecretsCommand(newer({ SortBy: "name", MaxResults: 2 })));
    expect(first.SecretList!.map((e) => e.Name)).toEqual(["alpha", "mid"]);
    const rest = await sm.send(new ListSecretsCommand(newer({ SortBy: "name", MaxResults: 2, NextToken: first.NextToken })));
    expect(rest.SecretList!.map((e) => e.Name)).toEqual(["zeta"]);
    const refused = "Managed external secrets (Type SalesforceClientSecret) are not supported by localfargate.";
    await expectAwsError(sm.send(new CreateSecretCommand(newer({ Name: "ext", SecretString: "{}", Type: "SalesforceClientSecret" }))), "InvalidParameterException", 400, refused);
    await expectAwsError(sm.send(new UpdateSecretCommand(newer({ SecretId: "mid", Type: "SalesforceClientSecret" }))), "InvalidParameterException", 400, refused);
  });
});

describe("CloudTrail", () => {
  it("PutInsightSelectors keeps each selector's EventCategories", async () => {
    await createTrailBucket(new S3Client({ ...s.config, forcePathStyle: true }), "insight-bucket");
    const ct = new CloudTrailClient(s.config);
    await ct.send(new CreateTrailCommand({ Name: "insights", S3BucketName: "insight-bucket" }));
    const selectors = [{ InsightType: "ApiCallRateInsight", EventCategories: ["Management", "Data"] }];
    const put = await ct.send(new PutInsightSelectorsCommand(newer({ TrailName: "insights", InsightSelectors: selectors })));
    expect(put.InsightSelectors).toEqual(selectors);
    expect((await ct.send(new GetInsightSelectorsCommand({ TrailName: "insights" }))).InsightSelectors).toEqual(selectors);
  });
});

describe("Organizations", () => {
  it("the newer policy types are refused as unavailable; a responsibility-transfer ID is no target here", async () => {
    const org = new OrganizationsClient(s.config);
    await org.send(new CreateOrganizationCommand({ FeatureSet: "ALL" }));
    const root = (await org.send(new ListRootsCommand({}))).Roots![0].Id!;
    await expectAwsError(org.send(new EnablePolicyTypeCommand(newer({ RootId: root, PolicyType: "SECURITYHUB_POLICY" }))), "PolicyTypeNotAvailableForOrganizationException", 409);
    await expectAwsError(org.send(new TagResourceCommand({ ResourceId: "rt-0123456789abcdef", Tags: [{ Key: "k", Value: "v" }] })), "TargetNotFoundException", 404);
    expect((await org.send(new ListHandshakesForAccountCommand(newer({ Filter: { ActionType: "TRANSFER_RESPONSIBILITY" } })))).Handshakes).toEqual([]);
  });
});
