/**
 * Services acting for the caller (forward access sessions): when ECS checks a cluster's key, the
 * DescribeKey it makes with the caller's identity carries kms:ViaService, aws:ViaAWSService and
 * aws:CalledVia*, and CloudTrail names ECS as invokedBy, source IP and user agent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, UpdateClusterCommand } from "@aws-sdk/client-ecs";
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { IAMClient } from "@aws-sdk/client-iam";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, fargateKeyPolicy } from "./ecs-helpers.ts";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let kms: KMSClient;
let iam: IAMClient;
let ct: CloudTrailClient;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  kms = new KMSClient(server.config);
  iam = new IAMClient(server.config);
  ct = new CloudTrailClient(server.config);
});
afterAll(async () => {
  await server?.close();
});

/** The documented Fargate key policy, with DescribeKey for the account allowed only through ECS. */
function viaEcsOnlyPolicy(cluster: string, via = "ecs.us-east-1.amazonaws.com"): string {
  const base = JSON.parse(fargateKeyPolicy(cluster)) as { Statement: Record<string, unknown>[] };
  const root = { AWS: `arn:aws:iam::${ACCOUNT}:root` };
  const statements = base.Statement.filter((s) => !String(s.Sid).startsWith("Enable IAM") && !String(s.Sid).startsWith("Allow describe key"));
  statements.push(
    { Sid: "Admin", Effect: "Allow", Principal: root, NotAction: "kms:DescribeKey", Resource: "*" },
    { Sid: "DescribeThroughEcs", Effect: "Allow", Principal: root, Action: "kms:DescribeKey", Resource: "*", Condition: { StringEquals: { "kms:ViaService": via } } },
  );
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

describe("ECS checks the cluster key with the caller's identity (forward access session)", () => {
  it("a key policy allowing DescribeKey only via ECS lets CreateCluster and UpdateCluster use the key and refuses a direct DescribeKey", async () => {
    const key = await kms.send(new CreateKeyCommand({ Policy: viaEcsOnlyPolicy("via-ecs") }));
    const arn = key.KeyMetadata!.Arn!;
    await expectAwsError(kms.send(new DescribeKeyCommand({ KeyId: arn })), "AccessDeniedException", 400, /kms:DescribeKey/);
    const created = await ecs.send(new CreateClusterCommand({ clusterName: "via-ecs", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: arn } } }));
    expect(created.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(arn);
    const updated = await ecs.send(new UpdateClusterCommand({ cluster: "via-ecs", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: arn } } }));
    expect(updated.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(arn);
  });

  it("kms:ViaService names the request's Region: another Region's endpoint does not match", async () => {
    const key = await kms.send(new CreateKeyCommand({ Policy: viaEcsOnlyPolicy("via-west", "ecs.us-west-2.amazonaws.com") }));
    const err = await expectAwsError(
      ecs.send(new CreateClusterCommand({ clusterName: "via-west", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.KeyMetadata!.Arn! } } })),
      "ClientException",
      400,
    );
    expect(err.message).toMatch(/kms:DescribeKey was denied/);
  });

  it("aws:CalledVia, aws:CalledViaFirst and aws:CalledViaLast name ECS in an identity policy", async () => {
    const key = await kms.send(new CreateKeyCommand({ Policy: fargateKeyPolicy("called-via") }));
    const arn = key.KeyMetadata!.Arn!;
    const creds = await userWithKey(
      iam,
      "fas-operator",
      doc([
        allow("ecs:*"),
        allow("kms:DescribeKey", "*", {
          Condition: {
            "ForAnyValue:StringEquals": { "aws:CalledVia": "ecs.amazonaws.com" },
            StringEquals: { "aws:CalledViaFirst": "ecs.amazonaws.com", "aws:CalledViaLast": "ecs.amazonaws.com" },
            Bool: { "aws:ViaAWSService": "true" },
          },
        }),
      ]),
    );
    const userEcs = new ECSClient(server.configFor(creds));
    const userKms = new KMSClient(server.configFor(creds));
    await expectAwsError(userKms.send(new DescribeKeyCommand({ KeyId: arn })), "AccessDeniedException", 400);
    const out = await userEcs.send(
      new CreateClusterCommand({ clusterName: "called-via", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: arn } } }),
    );
    expect(out.cluster!.status).toBe("ACTIVE");

    // CloudTrail: the caller's identity, invoked by ECS, from ECS
    const events = (await lookupAll(ct, "EventName", "DescribeKey")).map(recordOf);
    const viaEcs = events.filter((r) => r.userIdentity.arn === `arn:aws:iam::${ACCOUNT}:user/fas-operator` && !r.errorCode);
    expect(viaEcs).toHaveLength(1);
    const rec = viaEcs[0];
    expect(rec.userIdentity.type).toBe("IAMUser");
    expect(rec.userIdentity.accessKeyId).toBe(creds.accessKeyId);
    expect(rec.userIdentity.invokedBy).toBe("ecs.amazonaws.com");
    expect(rec.sourceIPAddress).toBe("ecs.amazonaws.com");
    expect(rec.userAgent).toBe("ecs.amazonaws.com");
    expect(rec.eventSource).toBe("kms.amazonaws.com");
    // the direct call was the user's own, from its own address
    const direct = events.filter((r) => r.userIdentity.arn === `arn:aws:iam::${ACCOUNT}:user/fas-operator` && r.errorCode);
    expect(direct).toHaveLength(1);
    expect(direct[0].userIdentity.invokedBy).toBeUndefined();
    expect(direct[0].sourceIPAddress).toBe("127.0.0.1");
  });
});
