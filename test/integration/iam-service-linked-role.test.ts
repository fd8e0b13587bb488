/**
 * ECS's service-linked role AWSServiceRoleForECS: created (for the caller, by ECS) with an
 * account's first cluster, recorded in CloudTrail, protected from the ordinary role operations,
 * and deletable only once no cluster uses it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttachRolePolicyCommand,
  CreateServiceLinkedRoleCommand,
  DeleteRoleCommand,
  DeleteServiceLinkedRoleCommand,
  GetRoleCommand,
  GetServiceLinkedRoleDeletionStatusCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  UpdateAssumeRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateClusterCommand, DeleteClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

const ACCOUNT = "222233334444";
const SLR = "AWSServiceRoleForECS";
const SLR_ARN = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/${SLR}`;

let s: TestServer;
let iam: IAMClient;
let ecs: ECSClient;
let ecsWest: ECSClient;
beforeAll(async () => {
  s = await startTestServer();
  const root = { accessKeyId: ACCOUNT, secretAccessKey: "test" };
  iam = new IAMClient(s.configFor(root));
  ecs = new ECSClient(s.configFor(root));
  ecsWest = new ECSClient(s.configFor(root, "us-west-2"));
});
afterAll(async () => {
  await s?.close();
});

describe("AWSServiceRoleForECS", () => {
  it("is created with the account's first cluster, by ECS for the caller, and recorded in CloudTrail", async () => {
    await expectAwsError(iam.send(new GetRoleCommand({ RoleName: SLR })), "NoSuchEntityException", 404);
    await ecs.send(new CreateClusterCommand({ clusterName: "first" }));
    const role = (await iam.send(new GetRoleCommand({ RoleName: SLR }))).Role!;
    expect(role.Arn).toBe(SLR_ARN);
    expect(role.Path).toBe("/aws-service-role/ecs.amazonaws.com/");
    expect(JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!))).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ecs.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: SLR }));
    expect(attached.AttachedPolicies).toEqual([{ PolicyName: "AmazonECSServiceRolePolicy", PolicyArn: "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy" }]);
    await ecsWest.send(new CreateClusterCommand({ clusterName: "second" }));

    const events = (await lookupAll(new CloudTrailClient(s.configFor({ accessKeyId: ACCOUNT, secretAccessKey: "test" })), "EventName", "CreateServiceLinkedRole")).map(recordOf);
    expect(events).toHaveLength(1);
    const rec = events[0];
    expect(rec.eventSource).toBe("iam.amazonaws.com");
    expect(rec.userIdentity.type).toBe("Root");
    expect(rec.userIdentity.invokedBy).toBe("ecs.amazonaws.com");
    expect(rec.sourceIPAddress).toBe("ecs.amazonaws.com");
    expect(rec.requestParameters).toEqual({ aWSServiceName: "ecs.amazonaws.com" });
    expect(rec.responseElements.role.arn).toBe(SLR_ARN);
  });

  it("is refused a second time, with a custom suffix and for a service localfargate does not run", async () => {
    await expectAwsError(
      iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: "ecs.amazonaws.com" })),
      "InvalidInputException",
      400,
      `Service role name ${SLR} has been taken in this account, please try a different suffix.`,
    );
    await expectAwsError(iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: "ecs.amazonaws.com", CustomSuffix: "x" })), "InvalidInputException", 400);
    await expectAwsError(iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: "nothing.amazonaws.com" })), "InvalidInputException", 400);
  });

  it("cannot be changed or deleted through the ordinary role operations", async () => {
    const protectedMessage = `Cannot perform the operation on the protected role '${SLR}' - this role is only modifiable by AWS`;
    await expectAwsError(iam.send(new DeleteRoleCommand({ RoleName: SLR })), "UnmodifiableEntityException", 400, protectedMessage);
    await expectAwsError(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: SLR, PolicyDocument: doc([]) })), "UnmodifiableEntityException", 400);
    await expectAwsError(
      iam.send(new AttachRolePolicyCommand({ RoleName: SLR, PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" })),
      "UnmodifiableEntityException",
      400,
      protectedMessage,
    );
  });

  it("fails to delete while clusters use it, naming them per Region, and deletes once they are gone", async () => {
    const first = await iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR }));
    expect(first.DeletionTaskId).toMatch(new RegExp(`^task/aws-service-role/ecs.amazonaws.com/${SLR}/[0-9a-f-]{36}$`));
    const failed = await iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: first.DeletionTaskId }));
    expect(failed.Status).toBe("FAILED");
    const usage = [...failed.Reason!.RoleUsageList!].sort((a, b) => a.Region!.localeCompare(b.Region!));
    expect(usage).toEqual([
      { Region: "us-east-1", Resources: [`arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/first`] },
      { Region: "us-west-2", Resources: [`arn:aws:ecs:us-west-2:${ACCOUNT}:cluster/second`] },
    ]);
    expect((await iam.send(new GetRoleCommand({ RoleName: SLR }))).Role!.Arn).toBe(SLR_ARN);

    await ecs.send(new DeleteClusterCommand({ cluster: "first" }));
    await ecsWest.send(new DeleteClusterCommand({ cluster: "second" }));
    const second = await iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: SLR }));
    expect((await iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: second.DeletionTaskId }))).Status).toBe("SUCCEEDED");
    await expectAwsError(iam.send(new GetRoleCommand({ RoleName: SLR })), "NoSuchEntityException", 404);

    await expectAwsError(iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: "not-a-task" })), "InvalidInputException", 400);
    await expectAwsError(
      iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: `task/aws-service-role/ecs.amazonaws.com/${SLR}/00000000-0000-0000-0000-000000000000` })),
      "NoSuchEntityException",
      404,
    );
    await expectAwsError(iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: "gone" })), "NoSuchEntityException", 404);
  });

  it("a caller without iam:CreateServiceLinkedRole still gets its cluster, without the role", async () => {
    const other = "333344445555";
    const rootIam = new IAMClient(s.configFor({ accessKeyId: other, secretAccessKey: "test" }));
    const creds = await userWithKey(rootIam, "ops", doc([allow("ecs:*")]));
    const out = await new ECSClient(s.configFor(creds)).send(new CreateClusterCommand({ clusterName: "no-slr" }));
    expect(out.cluster!.status).toBe("ACTIVE");
    await expectAwsError(rootIam.send(new GetRoleCommand({ RoleName: SLR })), "NoSuchEntityException", 404);
    // with the permission, the next cluster creates it
    const creds2 = await userWithKey(
      rootIam,
      "ops2",
      doc([allow("ecs:*"), allow("iam:CreateServiceLinkedRole", "*", { Condition: { StringEquals: { "iam:AWSServiceName": "ecs.amazonaws.com" } } })]),
    );
    await new ECSClient(s.configFor(creds2)).send(new CreateClusterCommand({ clusterName: "with-slr" }));
    expect((await rootIam.send(new GetRoleCommand({ RoleName: SLR }))).Role!.Path).toBe("/aws-service-role/ecs.amazonaws.com/");
  });
});
