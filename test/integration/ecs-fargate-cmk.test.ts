/**
 * The seed, end to end: a customer managed key with the documented key policy encrypts the
 * ephemeral storage of every Fargate task in the cluster; key state and key policy decide
 * whether new tasks start; every Fargate KMS call is in CloudTrail.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, DescribeClustersCommand, ECSClient, RunTaskCommand, StopTaskCommand, UpdateClusterCommand } from "@aws-sdk/client-ecs";
import { DisableKeyCommand, EnableKeyCommand, KMSClient, ListGrantsCommand, ScheduleKeyDeletionCommand } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

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

async function run(cluster: string, taskDefinition: string) {
  const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition, launchType: "FARGATE", networkConfiguration: NETWORK }));
  expect(out.failures).toEqual([]);
  return out.tasks![0];
}

describe("customer managed key for Fargate ephemeral storage", () => {
  it("runs a task whose ephemeral storage uses the cluster key, given by bare key ID", async () => {
    const key = await createFargateKey(kms, "seed");
    const created = await ecs.send(
      new CreateClusterCommand({ clusterName: "seed", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.keyId } } }),
    );
    expect(created.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(key.arn);

    const plain = await ecs.send(new DescribeClustersCommand({ clusters: ["seed"] }));
    expect(plain.clusters![0].configuration).toBeUndefined();
    expect(plain.clusters![0].settings).toBeUndefined();
    const withCfg = await ecs.send(new DescribeClustersCommand({ clusters: ["seed"], include: ["CONFIGURATIONS"] }));
    expect(withCfg.clusters![0].configuration).toEqual({ managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } });

    const td = await registerSleeper(ecs, "seed-app");
    const t0 = await run("seed", td);
    expect(t0.lastStatus).toBe("PROVISIONING");
    expect(t0.fargateEphemeralStorage).toEqual({ sizeInGiB: 20, kmsKeyId: key.arn });
    const t = await waitTask(ecs, "seed", t0.taskArn!, running);
    expect(t.ephemeralStorage).toEqual({ sizeInGiB: 20 });
    expect(t.fargateEphemeralStorage).toEqual({ sizeInGiB: 20, kmsKeyId: key.arn });
    expect(t.platformVersion).toBe("1.4.0");
    expect(t.platformFamily).toBe("Linux");
    expect(t.containers![0].lastStatus).toBe("RUNNING");
    expect(t.attachments![0].type).toBe("ElasticNetworkInterface");
    expect(t.attachments![0].details!.find((d) => d.name === "privateIPv4Address")!.value).toMatch(/^127\./);
    expect(t.version!).toBeGreaterThanOrEqual(4);
    expect(t.startedAt).toBeInstanceOf(Date);

    // one grant per running task, to the regional Fargate principal, retired by EC2
    const grants = await kms.send(new ListGrantsCommand({ KeyId: key.arn }));
    expect(grants.Grants).toHaveLength(1);
    const g = grants.Grants![0];
    expect(g.GranteePrincipal).toBe("fargate.us-east-1.amazonaws.com");
    expect(g.RetiringPrincipal).toBe("ec2.us-east-1.amazonaws.com");
    expect(g.Operations).toEqual(["Decrypt"]);
    expect(Object.keys(g.Constraints!.EncryptionContextSubset!).sort()).toEqual(["aws:ebs:id", "aws:ecs:clusterAccount", "aws:ecs:clusterName"]);
    expect(g.Constraints!.EncryptionContextSubset!["aws:ebs:id"]).toMatch(/^vol-[0-9a-f]{17}$/);

    const stopping = await ecs.send(new StopTaskCommand({ cluster: "seed", task: t.taskArn!, reason: "done here" }));
    expect(stopping.task!.desiredStatus).toBe("STOPPED");
    const s = await waitTask(ecs, "seed", t.taskArn!, stopped);
    expect(s.stopCode).toBe("UserInitiated");
    expect(s.stoppedReason).toBe("done here");
    expect(s.stoppedAt).toBeInstanceOf(Date);
    expect(s.executionStoppedAt).toBeInstanceOf(Date);
    expect(s.stoppingAt).toBeInstanceOf(Date);
    expect(s.containers![0].lastStatus).toBe("STOPPED");
    const after = await kms.send(new ListGrantsCommand({ KeyId: key.arn }));
    expect(after.Grants ?? []).toHaveLength(0);
  });

  it("a disabled key fails new tasks (TaskFailedToStart) while a running task keeps running", async () => {
    const key = await createFargateKey(kms, "disable-me");
    await ecs.send(new CreateClusterCommand({ clusterName: "disable-me", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } } }));
    const td = await registerSleeper(ecs, "disable-app");
    const first = await waitTask(ecs, "disable-me", (await run("disable-me", td)).taskArn!, running);
    await kms.send(new DisableKeyCommand({ KeyId: key.arn }));
    const second = await waitTask(ecs, "disable-me", (await run("disable-me", td)).taskArn!, stopped);
    expect(second.stopCode).toBe("TaskFailedToStart");
    expect(second.stoppedReason).toBe(`ResourceInitializationError: failed to create ephemeral storage: KMS key ${key.arn} is disabled. (DisabledException)`);
    expect(second.startedAt).toBeUndefined();
    const still = await waitTask(ecs, "disable-me", first.taskArn!, () => true);
    expect(still.lastStatus).toBe("RUNNING");
    // re-enabled: new tasks start again
    await kms.send(new EnableKeyCommand({ KeyId: key.arn }));
    await waitTask(ecs, "disable-me", (await run("disable-me", td)).taskArn!, running);
  });

  it("a key pending deletion fails new tasks", async () => {
    const key = await createFargateKey(kms, "pending-del");
    await ecs.send(new CreateClusterCommand({ clusterName: "pending-del", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } } }));
    const td = await registerSleeper(ecs, "pending-del-app");
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.arn, PendingWindowInDays: 7 }));
    const t = await waitTask(ecs, "pending-del", (await run("pending-del", td)).taskArn!, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      /^ResourceInitializationError: failed to create ephemeral storage: KMS key arn:aws:kms:us-east-1:000000000000:key\/.* \(KMSInvalidStateException\)$/,
    );
  });

  it("a key policy without the Fargate statements is refused at CreateCluster, and fails tasks once the cluster has it", async () => {
    const bad = await createFargateKey(kms, "no-fargate", { fargate: false });
    await expect(
      ecs.send(new CreateClusterCommand({ clusterName: "no-fargate", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: bad.arn } } })),
    ).rejects.toMatchObject({ name: "ClientException", message: expect.stringContaining("does not allow Fargate") });
    // A policy naming another cluster: the attach check fails for this one too.
    const other = await createFargateKey(kms, "someone-else");
    await expect(
      ecs.send(new CreateClusterCommand({ clusterName: "no-fargate", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: other.arn } } })),
    ).rejects.toMatchObject({ name: "ClientException" });
  });

  it("a key policy changed after attach (Fargate statements removed) fails new tasks", async () => {
    const { PutKeyPolicyCommand } = await import("@aws-sdk/client-kms");
    const { fargateKeyPolicy } = await import("./ecs-helpers.ts");
    const key = await createFargateKey(kms, "policy-change");
    await ecs.send(new CreateClusterCommand({ clusterName: "policy-change", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } } }));
    await kms.send(new PutKeyPolicyCommand({ KeyId: key.arn, PolicyName: "default", Policy: fargateKeyPolicy("policy-change", { fargate: false }) }));
    const td = await registerSleeper(ecs, "policy-change-app");
    const t = await waitTask(ecs, "policy-change", (await run("policy-change", td)).taskArn!, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(/^ResourceInitializationError: failed to create ephemeral storage: Fargate is not authorized to use KMS key .* \(AccessDeniedException\)$/);
  });

  it("tasks started after UpdateCluster use the new key; running ones keep theirs; clearing the key falls back to the Fargate-owned key", async () => {
    const a = await createFargateKey(kms, "rotate");
    const b = await createFargateKey(kms, "rotate");
    await ecs.send(new CreateClusterCommand({ clusterName: "rotate", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: a.arn } } }));
    const td = await registerSleeper(ecs, "rotate-app");
    const t1 = await waitTask(ecs, "rotate", (await run("rotate", td)).taskArn!, running);
    const upd = await ecs.send(new UpdateClusterCommand({ cluster: "rotate", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: b.keyId } } }));
    expect(upd.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(b.arn);
    const t2 = await waitTask(ecs, "rotate", (await run("rotate", td)).taskArn!, running);
    expect(t2.fargateEphemeralStorage!.kmsKeyId).toBe(b.arn);
    const again = await waitTask(ecs, "rotate", t1.taskArn!, () => true);
    expect(again.fargateEphemeralStorage!.kmsKeyId).toBe(a.arn);
    expect(again.lastStatus).toBe("RUNNING");
    // UpdateCluster without configuration keeps the key
    const keep = await ecs.send(new UpdateClusterCommand({ cluster: "rotate", settings: [{ name: "containerInsights", value: "enabled" }] }));
    expect(keep.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(b.arn);
    // an empty string clears it
    const cleared = await ecs.send(new UpdateClusterCommand({ cluster: "rotate", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: "" } } }));
    expect(cleared.cluster!.configuration?.managedStorageConfiguration).toBeUndefined();
    const t3 = await waitTask(ecs, "rotate", (await run("rotate", td)).taskArn!, running);
    expect(t3.fargateEphemeralStorage).toEqual({ sizeInGiB: 20 });
  });

  it("without a cluster key the task runs on the Fargate-owned key: no kmsKeyId, no KMS calls in the account", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "no-key" }));
    const td = await registerSleeper(ecs, "no-key-app", undefined, { ephemeralStorage: { sizeInGiB: 30 } });
    const t = await waitTask(ecs, "no-key", (await run("no-key", td)).taskArn!, running);
    expect(t.ephemeralStorage).toEqual({ sizeInGiB: 30 });
    expect(t.fargateEphemeralStorage).toEqual({ sizeInGiB: 30 });
  });

  it("CloudTrail records Fargate's KMS calls like AWS's samples", async () => {
    if (!server.app.auditSink || !server.app.services.has("cloudtrail")) return;
    const { CloudTrailClient, LookupEventsCommand } = await import("@aws-sdk/client-cloudtrail");
    const ct = new CloudTrailClient(server.config);
    const key = await createFargateKey(kms, "audited");
    await ecs.send(new CreateClusterCommand({ clusterName: "audited", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } } }));
    const td = await registerSleeper(ecs, "audited-app");
    const t = await waitTask(ecs, "audited", (await run("audited", td)).taskArn!, running);
    await ecs.send(new StopTaskCommand({ cluster: "audited", task: t.taskArn! }));
    await waitTask(ecs, "audited", t.taskArn!, stopped);
    const events = await waitFor("CloudTrail events", async () => {
      const out = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: key.arn }], MaxResults: 50 }));
      const recs = (out.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!));
      return recs.some((r) => r.eventName === "RetireGrant") ? recs : undefined;
    });
    const find = (name: string, dry: boolean) => events.find((r) => r.eventName === name && Boolean(r.requestParameters?.dryRun) === dry);
    const dryGen = find("GenerateDataKeyWithoutPlaintext", true);
    expect(dryGen.userIdentity).toEqual({ type: "AWSService", invokedBy: "fargate.amazonaws.com" });
    expect(dryGen.errorCode).toBe("DryRunOperationException");
    expect(dryGen.requestParameters.numberOfBytes).toBe(64);
    expect(dryGen.requestParameters.encryptionContext).toEqual({ "aws:ecs:clusterAccount": "000000000000", "aws:ecs:clusterName": "audited" });
    const dryGrant = find("CreateGrant", true);
    expect(dryGrant.userIdentity.invokedBy).toBe("fargate.amazonaws.com");
    expect(dryGrant.requestParameters.granteePrincipal).toBe("fargate.us-east-1.amazonaws.com");
    const gen = find("GenerateDataKeyWithoutPlaintext", false);
    expect(gen.userIdentity).toEqual({ type: "AWSService", invokedBy: "ec2-frontend-api.amazonaws.com" });
    expect(gen.sourceIPAddress).toBe("ec2-frontend-api.amazonaws.com");
    expect(gen.requestParameters.encryptionContext["aws:ebs:id"]).toMatch(/^vol-[0-9a-f]{17}$/);
    const grant = find("CreateGrant", false);
    expect(grant.userIdentity.invokedBy).toBe("ec2-frontend-api.amazonaws.com");
    expect(grant.requestParameters.retiringPrincipal).toBe("ec2.us-east-1.amazonaws.com");
    expect(grant.requestParameters.operations).toEqual(["Decrypt"]);
    // no grant name, as in AWS's sample; the volume id is derived from the task's ARN (docs/console.md#volumes-and-grants)
    expect(grant.requestParameters.name).toBeUndefined();
    expect(gen.requestParameters.encryptionContext["aws:ebs:id"]).toBe("vol-" + createHash("sha256").update(t.taskArn!).digest("hex").slice(0, 17));
    expect(grant.requestParameters.constraints.encryptionContextSubset).toEqual({
      "aws:ecs:clusterAccount": "000000000000",
      "aws:ecs:clusterName": "audited",
      "aws:ebs:id": gen.requestParameters.encryptionContext["aws:ebs:id"],
    });
    expect(grant.responseElements.grantId).toMatch(/^[0-9a-f]{64}$/);
    expect(grant.recipientAccountId).toBe("000000000000");
    const retire = events.find((r) => r.eventName === "RetireGrant");
    expect(retire.userIdentity).toEqual({ type: "AWSService", invokedBy: "AWS Internal" });
    expect(events.some((r) => r.eventName === "Decrypt")).toBe(true);
  });
});
