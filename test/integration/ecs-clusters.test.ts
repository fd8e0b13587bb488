/** ECS clusters and task definitions: the key checks at attach time, describe/include, IAM condition key. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
  ListTagsForResourceCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  PutClusterCapacityProvidersCommand,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateClusterCommand,
  UpdateClusterSettingsCommand,
} from "@aws-sdk/client-ecs";
import { CreateAliasCommand, CreateKeyCommand, DisableKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createFargateKey, fargateKeyPolicy } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let kms: KMSClient;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  kms = new KMSClient(server.config);
});
afterAll(async () => {
  await server?.close();
});

const withKey = (clusterName: string, key: string) =>
  new CreateClusterCommand({ clusterName, configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key } } });

describe("cluster key checks at CreateCluster / UpdateCluster", () => {
  it("refuses aliases, multi-Region, asymmetric, disabled, unknown and other-region keys", async () => {
    const key = await createFargateKey(kms, "checks");
    await kms.send(new CreateAliasCommand({ AliasName: "alias/fargate-checks", TargetKeyId: key.keyId }));
    await expect(ecs.send(withKey("checks", "alias/fargate-checks"))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: expect.stringContaining("aliases are not supported"),
    });
    await expect(ecs.send(withKey("checks", `arn:aws:kms:us-east-1:${ACCOUNT}:alias/fargate-checks`))).rejects.toMatchObject({ name: "InvalidParameterException" });

    const mrk = await kms.send(new CreateKeyCommand({ MultiRegion: true, Policy: fargateKeyPolicy("checks") }));
    await expect(ecs.send(withKey("checks", mrk.KeyMetadata!.Arn!))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: expect.stringContaining("Multi-Region keys are not supported"),
    });

    const rsa = await kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT", Policy: fargateKeyPolicy("checks") }));
    await expect(ecs.send(withKey("checks", rsa.KeyMetadata!.KeyId!))).rejects.toMatchObject({ name: "InvalidParameterException", message: expect.stringContaining("symmetric") });

    const off = await createFargateKey(kms, "checks");
    await kms.send(new DisableKeyCommand({ KeyId: off.keyId }));
    await expect(ecs.send(withKey("checks", off.arn))).rejects.toMatchObject({ name: "InvalidParameterException", message: expect.stringContaining("not enabled") });

    await expect(ecs.send(withKey("checks", "11111111-2222-3333-4444-555555555555"))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: expect.stringContaining("does not exist"),
    });
    await expect(ecs.send(withKey("checks", `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${key.keyId}`))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: expect.stringContaining("region"),
    });

    // none of these left a cluster behind
    const d = await ecs.send(new DescribeClustersCommand({ clusters: ["checks"] }));
    expect(d.failures).toEqual([{ arn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/checks`, reason: "MISSING" }]);

    // the good key works, by ARN, and UpdateCluster checks the same way
    await ecs.send(withKey("checks", key.arn));
    await expect(
      ecs.send(new UpdateClusterCommand({ cluster: "checks", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: "alias/fargate-checks" } } })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
    const d2 = await ecs.send(new DescribeClustersCommand({ clusters: ["checks"], include: ["CONFIGURATIONS"] }));
    expect(d2.clusters![0].configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(key.arn);
  });

  it("Fargate's calls carry aws:PrincipalIsAWSService and aws:PrincipalServiceNamesList", async () => {
    // Key policies may narrow the Fargate statements with the service-principal keys.
    const narrowed = (services: string) => {
      const p = JSON.parse(fargateKeyPolicy("svc-keys")) as { Statement: { Principal?: { Service?: string }; Condition?: Record<string, unknown> }[] };
      for (const st of p.Statement) {
        if (st.Principal?.Service !== "fargate.amazonaws.com") continue;
        st.Condition = { ...st.Condition, Bool: { "aws:PrincipalIsAWSService": "true" }, "ForAnyValue:StringEquals": { "aws:PrincipalServiceNamesList": [services] } };
      }
      return JSON.stringify(p);
    };
    const good = await kms.send(new CreateKeyCommand({ Policy: narrowed("fargate.amazonaws.com") }));
    const other = await kms.send(new CreateKeyCommand({ Policy: narrowed("ecs.amazonaws.com") }));
    await expect(ecs.send(withKey("svc-keys", other.KeyMetadata!.Arn!))).rejects.toMatchObject({
      message: expect.stringContaining("does not allow Fargate (fargate.amazonaws.com)"),
    });
    const c = await ecs.send(withKey("svc-keys", good.KeyMetadata!.Arn!));
    expect(c.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(good.KeyMetadata!.Arn);
  });

  it("DescribeClusters returns each optional part only when asked", async () => {
    const key = await createFargateKey(kms, "inc");
    await ecs.send(
      new CreateClusterCommand({
        clusterName: "inc",
        tags: [{ key: "team", value: "x" }],
        settings: [{ name: "containerInsights", value: "enabled" }],
        configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } },
      }),
    );
    const bare = (await ecs.send(new DescribeClustersCommand({ clusters: ["inc"] }))).clusters![0];
    expect(bare.configuration).toBeUndefined();
    expect(bare.tags).toBeUndefined();
    expect(bare.settings).toBeUndefined();
    expect(bare.statistics).toBeUndefined();
    expect(bare.status).toBe("ACTIVE");
    const all = (
      await ecs.send(
        new DescribeClustersCommand({ clusters: [`arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/inc`], include: ["CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS", "ATTACHMENTS"] }),
      )
    ).clusters![0];
    expect(all.tags).toEqual([{ key: "team", value: "x" }]);
    expect(all.settings).toEqual([{ name: "containerInsights", value: "enabled" }]);
    expect(all.statistics!.find((s) => s.name === "runningFargateTasksCount")!.value).toBe("0");
    expect(all.attachments).toEqual([]);
    expect(all.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(key.arn);
    const s = await ecs.send(new UpdateClusterSettingsCommand({ cluster: "inc", settings: [{ name: "containerInsights", value: "disabled" }] }));
    expect(s.cluster!.settings).toEqual([{ name: "containerInsights", value: "disabled" }]);
    await ecs.send(
      new PutClusterCapacityProvidersCommand({ cluster: "inc", capacityProviders: ["FARGATE"], defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }] }),
    );
    await expect(ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "inc", capacityProviders: ["EC2_ASG"], defaultCapacityProviderStrategy: [] }))).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
    const arn = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/inc`;
    await ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: "b", value: "2" }] }));
    await ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["team"] }));
    expect((await ecs.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([{ key: "b", value: "2" }]);
    expect((await ecs.send(new ListClustersCommand({}))).clusterArns).toContain(arn);
    const del = await ecs.send(new DeleteClusterCommand({ cluster: "inc" }));
    expect(del.cluster!.status).toBe("INACTIVE");
    expect((await ecs.send(new DescribeClustersCommand({ clusters: ["inc"] }))).clusters![0].status).toBe("INACTIVE");
    expect((await ecs.send(new ListClustersCommand({}))).clusterArns).not.toContain(arn);
    await expect(ecs.send(new UpdateClusterCommand({ cluster: "inc", settings: [] }))).rejects.toMatchObject({ name: "ClusterNotFoundException" });
  });

  it("the IAM condition key ecs:fargate-ephemeral-storage-kms-key allows only the approved key", async () => {
    if (!server.app.services.has("iam")) return;
    const { IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand } = await import("@aws-sdk/client-iam");
    const iam = new IAMClient(server.config);
    const good = await createFargateKey(kms, ["iam-good", "iam-bad", "iam-none"]);
    const other = await createFargateKey(kms, ["iam-good", "iam-bad", "iam-none"]);
    await iam.send(new CreateUserCommand({ UserName: "operator" }));
    const ak = (await iam.send(new CreateAccessKeyCommand({ UserName: "operator" }))).AccessKey!;
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "operator",
        PolicyName: "only-approved-key",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["ecs:CreateCluster", "ecs:UpdateCluster"],
              Resource: "*",
              Condition: { StringEquals: { "ecs:fargate-ephemeral-storage-kms-key": good.arn } },
            },
            { Effect: "Deny", Action: ["ecs:CreateCluster", "ecs:UpdateCluster"], Resource: "*", Condition: { Null: { "ecs:fargate-ephemeral-storage-kms-key": "true" } } },
            { Effect: "Allow", Action: ["kms:DescribeKey"], Resource: "*" },
          ],
        }),
      }),
    );
    const op = new ECSClient(server.configFor({ accessKeyId: ak.AccessKeyId!, secretAccessKey: ak.SecretAccessKey! }));
    const created = await op.send(withKey("iam-good", good.arn));
    expect(created.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(good.arn);
    await expect(op.send(withKey("iam-bad", other.arn))).rejects.toMatchObject({ name: "AccessDeniedException" });
    await expect(op.send(new CreateClusterCommand({ clusterName: "iam-none" }))).rejects.toMatchObject({ name: "AccessDeniedException" });
    // removing the key from a cluster is denied too
    await expect(op.send(new UpdateClusterCommand({ cluster: "iam-good", configuration: { managedStorageConfiguration: {} } }))).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    await expect(
      op.send(new UpdateClusterCommand({ cluster: "iam-good", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: "" } } })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
  });
});

describe("task definitions", () => {
  const base = {
    requiresCompatibilities: ["FARGATE" as const],
    networkMode: "awsvpc" as const,
    cpu: "256",
    memory: "512",
    containerDefinitions: [{ name: "a", image: "busybox" }],
  };

  it("validates Fargate sizes, network mode, ephemeral storage and containers", async () => {
    const bad = async (extra: Record<string, unknown>, msg: RegExp) =>
      expect(ecs.send(new RegisterTaskDefinitionCommand({ family: "bad", ...base, ...extra }))).rejects.toMatchObject({
        name: "ClientException",
        message: expect.stringMatching(msg),
      });
    await bad({ cpu: "256", memory: "4096" }, /No Fargate configuration exists for given values: 256 CPU, 4096 memory/);
    await bad({ networkMode: "bridge" }, /awsvpc/);
    await bad({ ephemeralStorage: { sizeInGiB: 20 } }, /between 21 and 200/);
    await bad({ ephemeralStorage: { sizeInGiB: 201 } }, /between 21 and 200/);
    await bad({ containerDefinitions: [{ name: "a" }] }, /image/);
    await bad({ containerDefinitions: [{ name: "a", image: "x", essential: false }] }, /essential/);
    await bad({ containerDefinitions: [{ name: "a", image: "x", dependsOn: [{ containerName: "b", condition: "START" }] }] }, /not in the task definition/);
    const ok = await ecs.send(new RegisterTaskDefinitionCommand({ family: "good", ...base, cpu: "1 vCPU", memory: "2 GB", ephemeralStorage: { sizeInGiB: 21 } }));
    expect(ok.taskDefinition!.cpu).toBe("1024");
    expect(ok.taskDefinition!.memory).toBe("2048");
    expect(ok.taskDefinition!.containerDefinitions![0].essential).toBe(true);
    expect(ok.taskDefinition!.compatibilities).toEqual(["EC2", "FARGATE"]);
  });

  it("revisions, describe, list, deregister, delete", async () => {
    const r1 = await ecs.send(new RegisterTaskDefinitionCommand({ family: "fam", ...base, tags: [{ key: "k", value: "v" }] }));
    const r2 = await ecs.send(new RegisterTaskDefinitionCommand({ family: "fam", ...base }));
    expect(r1.taskDefinition!.revision).toBe(1);
    expect(r2.taskDefinition!.taskDefinitionArn).toBe(`arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/fam:2`);
    expect((await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "fam" }))).taskDefinition!.revision).toBe(2);
    const d1 = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "fam:1", include: ["TAGS"] }));
    expect(d1.tags).toEqual([{ key: "k", value: "v" }]);
    expect((await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "fam:1" }))).tags).toBeUndefined();
    const desc = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "fam", sort: "DESC" }));
    expect(desc.taskDefinitionArns).toEqual([r2.taskDefinition!.taskDefinitionArn, r1.taskDefinition!.taskDefinitionArn]);
    expect((await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "fa" }))).families).toEqual(["fam"]);
    await expect(ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ["fam:1"] }))).resolves.toMatchObject({ failures: [{ reason: expect.stringContaining("ACTIVE") }] });
    const dereg = await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "fam:1" }));
    expect(dereg.taskDefinition!.status).toBe("INACTIVE");
    expect((await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "fam", status: "INACTIVE" }))).taskDefinitionArns).toEqual([r1.taskDefinition!.taskDefinitionArn]);
    const del = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: ["fam:1"] }));
    expect(del.taskDefinitions![0].status).toBe("DELETE_IN_PROGRESS");
    await expect(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "fam:1" }))).rejects.toMatchObject({ name: "ClientException" });
    const r3 = await ecs.send(new RegisterTaskDefinitionCommand({ family: "fam", ...base }));
    expect(r3.taskDefinition!.revision).toBe(3);
  });
});
