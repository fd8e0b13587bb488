/** ECS account settings and capacity providers through the SDK: precedence, effects, validation, rules. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  DeleteAccountSettingCommand,
  DeleteCapacityProviderCommand,
  DeleteClusterCommand,
  DescribeCapacityProvidersCommand,
  ECSClient,
  ListAccountSettingsCommand,
  PutAccountSettingCommand,
  PutAccountSettingDefaultCommand,
  PutClusterCapacityProvidersCommand,
  RegisterTaskDefinitionCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateCapacityProviderCommand,
} from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let iam: IAMClient;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  iam = new IAMClient(server.config);
});
afterAll(async () => {
  await server?.close();
});

const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const asg = (name: string, region = "us-east-1", account = ACCOUNT) =>
  `arn:aws:autoscaling:${region}:${account}:autoScalingGroup:0f6b2a5e-1111-4222-8333-944455556666:autoScalingGroupName/${name}`;

describe("account settings", () => {
  it("lists AWS's defaults as effective settings before anything is set", async () => {
    const out = await ecs.send(new ListAccountSettingsCommand({ effectiveSettings: true, maxResults: 10 }));
    const byName = Object.fromEntries(out.settings!.map((s) => [s.name, s]));
    expect(byName.containerInsights).toEqual({ name: "containerInsights", value: "disabled", principalArn: ROOT, type: "aws_managed" });
    expect(byName.fargateTaskRetirementWaitPeriod.value).toBe("7");
    expect(byName.tagResourceAuthorization.value).toBe("on");
    // eleven with the newer model's defaultLogDriverMode and fargateEventWindows: a first page of ten
    expect(out.settings).toHaveLength(10);
    expect(out.nextToken).toBeDefined();
    // without effectiveSettings only what was set is listed: nothing yet
    expect((await ecs.send(new ListAccountSettingsCommand({}))).settings).toEqual([]);
  });

  it("a user's own setting wins over the account default, which wins over AWS's; clusters take containerInsights from it", async () => {
    const creds = await userWithKey(iam, "settings-user", doc([allow("ecs:*")]));
    const user = new ECSClient(server.configFor(creds));
    const userArn = `arn:aws:iam::${ACCOUNT}:user/settings-user`;
    const d = await ecs.send(new PutAccountSettingDefaultCommand({ name: "containerInsights", value: "enhanced" }));
    expect(d.setting).toEqual({ name: "containerInsights", value: "enhanced", principalArn: ROOT, type: "user" });
    let eff = await user.send(new ListAccountSettingsCommand({ name: "containerInsights", effectiveSettings: true }));
    expect(eff.settings![0]).toMatchObject({ value: "enhanced", principalArn: ROOT });
    const c1 = await user.send(new CreateClusterCommand({ clusterName: "insights-default" }));
    expect(c1.cluster!.settings).toEqual([{ name: "containerInsights", value: "enhanced" }]);

    const own = await user.send(new PutAccountSettingCommand({ name: "containerInsights", value: "disabled" }));
    expect(own.setting).toEqual({ name: "containerInsights", value: "disabled", principalArn: userArn, type: "user" });
    eff = await user.send(new ListAccountSettingsCommand({ name: "containerInsights", effectiveSettings: true }));
    expect(eff.settings![0]).toMatchObject({ value: "disabled", principalArn: userArn });
    const c2 = await user.send(new CreateClusterCommand({ clusterName: "insights-user" }));
    expect(c2.cluster!.settings).toEqual([{ name: "containerInsights", value: "disabled" }]);
    // the root user still sees the default; the user's setting is listed for it by principalArn
    const root = await ecs.send(new ListAccountSettingsCommand({ name: "containerInsights", principalArn: userArn }));
    expect(root.settings).toEqual([own.setting]);

    const del = await user.send(new DeleteAccountSettingCommand({ name: "containerInsights" }));
    expect(del.setting!.value).toBe("disabled");
    eff = await user.send(new ListAccountSettingsCommand({ name: "containerInsights", effectiveSettings: true }));
    expect(eff.settings![0]).toMatchObject({ value: "enhanced", principalArn: ROOT });
    await expectAwsError(user.send(new DeleteAccountSettingCommand({ name: "containerInsights" })), "InvalidParameterException", 400);
    await ecs.send(new DeleteAccountSettingCommand({ name: "containerInsights", principalArn: ROOT }));
  });

  it("refuses bad names, values, principals and the restricted settings", async () => {
    await expectAwsError(ecs.send(new PutAccountSettingCommand({ name: "containerInsights", value: "on" })), "InvalidParameterException", 400, /Invalid value 'on'/);
    await expectAwsError(ecs.send(new PutAccountSettingCommand({ name: "fargateTaskRetirementWaitPeriod", value: "3" })), "InvalidParameterException", 400);
    await expectAwsError(ecs.send(new PutAccountSettingCommand({ name: "guardDutyActivate", value: "on" })), "InvalidParameterException", 400, /read-only/);
    await expectAwsError(ecs.send(new PutAccountSettingDefaultCommand({ name: "fargateFIPSMode", value: "enabled" })), "InvalidParameterException", 400, /GovCloud/);
    await expectAwsError(
      ecs.send(new PutAccountSettingCommand({ name: "awsvpcTrunking", value: "enabled", principalArn: "arn:aws:iam::111111111111:user/x" })),
      "InvalidParameterException",
      400,
      /not in your account/,
    );
    await expectAwsError(
      ecs.send(new PutAccountSettingCommand({ name: "awsvpcTrunking", value: "enabled", principalArn: "arn:aws:s3:::bucket" })),
      "InvalidParameterException",
      400,
    );
    await expectAwsError(
      ecs.send(new PutAccountSettingCommand({ name: "fargateTaskRetirementWaitPeriod", value: "14", principalArn: `arn:aws:iam::${ACCOUNT}:user/settings-user` })),
      "InvalidParameterException",
      400,
      /root user/,
    );
    // the root user may set the retirement wait period, for the whole account
    const ok = await ecs.send(new PutAccountSettingCommand({ name: "fargateTaskRetirementWaitPeriod", value: "14" }));
    expect(ok.setting).toMatchObject({ principalArn: ROOT, value: "14" });
    // nothing refused was stored
    const listed = await ecs.send(new ListAccountSettingsCommand({}));
    expect(listed.settings!.map((s) => s.name)).toEqual(["fargateTaskRetirementWaitPeriod"]);
    await expectAwsError(ecs.send(new ListAccountSettingsCommand({ maxResults: 11 })), "InvalidParameterException", 400);
  });

  it("pages effective settings and keeps them per Region", async () => {
    const first = await ecs.send(new ListAccountSettingsCommand({ effectiveSettings: true, maxResults: 4 }));
    expect(first.settings).toHaveLength(4);
    const second = await ecs.send(new ListAccountSettingsCommand({ effectiveSettings: true, maxResults: 10, nextToken: first.nextToken }));
    expect(second.settings).toHaveLength(7);
    expect(second.nextToken).toBeUndefined();
    await expectAwsError(ecs.send(new ListAccountSettingsCommand({ nextToken: "bogus" })), "InvalidParameterException", 400);
    const west = new ECSClient(server.configFor(server.config.credentials, "us-west-2"));
    const w = await west.send(new ListAccountSettingsCommand({ name: "fargateTaskRetirementWaitPeriod", effectiveSettings: true }));
    expect(w.settings![0]).toMatchObject({ value: "7", type: "aws_managed" });
  });

  it("tagResourceAuthorization on (AWS's default): a create call with tags also needs ecs:TagResource, with ecs:CreateAction", async () => {
    const createOnly = new ECSClient(server.configFor(await userWithKey(iam, "create-only", doc([allow(["ecs:CreateCluster", "ecs:CreateCapacityProvider"])]))));
    await createOnly.send(new CreateClusterCommand({ clusterName: "untagged-ok" }));
    await expectAwsError(
      createOnly.send(new CreateClusterCommand({ clusterName: "tagged-denied", tags: [{ key: "team", value: "a" }] })),
      "AccessDeniedException",
      400,
      /ecs:TagResource/,
    );
    await expectAwsError(
      createOnly.send(new CreateCapacityProviderCommand({ name: "tagged-cp", autoScalingGroupProvider: { autoScalingGroupArn: asg("tagged") }, tags: [{ key: "t", value: "v" }] })),
      "AccessDeniedException",
      400,
      /ecs:TagResource/,
    );
    const tagOnCreate = new ECSClient(
      server.configFor(
        await userWithKey(
          iam,
          "tag-on-create",
          doc([allow("ecs:CreateCluster"), allow("ecs:TagResource", "*", { Condition: { StringEquals: { "ecs:CreateAction": "CreateCluster" } } })]),
        ),
      ),
    );
    const made = await tagOnCreate.send(new CreateClusterCommand({ clusterName: "tagged-ok", tags: [{ key: "team", value: "a" }] }));
    expect(made.cluster!.tags).toEqual([{ key: "team", value: "a" }]);
    // RegisterTaskDefinition: ecs:TagResource on the new revision's ARN
    const registerOnly = new ECSClient(server.configFor(await userWithKey(iam, "register-only", doc([allow("ecs:RegisterTaskDefinition")]))));
    const td = { family: "tagged-family", requiresCompatibilities: ["FARGATE" as const], networkMode: "awsvpc" as const, cpu: "256", memory: "512" };
    const containers = [{ name: "app", image: "busybox", essential: true }];
    await expectAwsError(
      registerOnly.send(new RegisterTaskDefinitionCommand({ ...td, containerDefinitions: containers, tags: [{ key: "t", value: "v" }] })),
      "AccessDeniedException",
      400,
      new RegExp(`ecs:TagResource on resource: arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/tagged-family:\\*`),
    );
    // with the account default off, the create permission alone tags
    await ecs.send(new PutAccountSettingDefaultCommand({ name: "tagResourceAuthorization", value: "off" }));
    const off = await createOnly.send(new CreateClusterCommand({ clusterName: "tagged-off", tags: [{ key: "team", value: "b" }] }));
    expect(off.cluster!.tags).toEqual([{ key: "team", value: "b" }]);
    await ecs.send(new DeleteAccountSettingCommand({ name: "tagResourceAuthorization", principalArn: ROOT }));
  });

  it("an IAM policy decides who may change settings", async () => {
    const creds = await userWithKey(iam, "settings-reader", doc([allow("ecs:ListAccountSettings")]));
    const reader = new ECSClient(server.configFor(creds));
    await reader.send(new ListAccountSettingsCommand({}));
    await expectAwsError(reader.send(new PutAccountSettingCommand({ name: "awsvpcTrunking", value: "enabled" })), "AccessDeniedException", 400);
    await expectAwsError(reader.send(new PutAccountSettingDefaultCommand({ name: "awsvpcTrunking", value: "enabled" })), "AccessDeniedException", 400);
  });
});

describe("capacity providers", () => {
  it("FARGATE and FARGATE_SPOT exist in every account and cannot be changed", async () => {
    const out = await ecs.send(new DescribeCapacityProvidersCommand({}));
    expect(out.capacityProviders!.map((p) => [p.name, p.status, p.capacityProviderArn])).toEqual([
      ["FARGATE", "ACTIVE", `arn:aws:ecs:us-east-1:${ACCOUNT}:capacity-provider/FARGATE`],
      ["FARGATE_SPOT", "ACTIVE", `arn:aws:ecs:us-east-1:${ACCOUNT}:capacity-provider/FARGATE_SPOT`],
    ]);
    await expectAwsError(ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: "FARGATE" })), "InvalidParameterException", 400, /reserved/);
    await expectAwsError(
      ecs.send(new UpdateCapacityProviderCommand({ name: "FARGATE_SPOT", autoScalingGroupProvider: { managedDraining: "DISABLED" } })),
      "InvalidParameterException",
      400,
      /reserved/,
    );
  });

  it("creates, describes, updates and deletes an Auto Scaling group provider, with AWS's defaults and rules", async () => {
    const created = await ecs.send(
      new CreateCapacityProviderCommand({ name: "asg-one", autoScalingGroupProvider: { autoScalingGroupArn: asg("one") }, tags: [{ key: "team", value: "a" }] }),
    );
    expect(created.capacityProvider).toMatchObject({
      name: "asg-one",
      status: "ACTIVE",
      capacityProviderArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:capacity-provider/asg-one`,
      autoScalingGroupProvider: {
        autoScalingGroupArn: asg("one"),
        managedScaling: { status: "DISABLED", targetCapacity: 100, minimumScalingStepSize: 1, maximumScalingStepSize: 10000, instanceWarmupPeriod: 300 },
        managedTerminationProtection: "DISABLED",
        managedDraining: "ENABLED",
      },
      tags: [{ key: "team", value: "a" }],
    });
    await expectAwsError(
      ecs.send(new CreateCapacityProviderCommand({ name: "asg-one", autoScalingGroupProvider: { autoScalingGroupArn: asg("other") } })),
      "ClientException",
      400,
      /already exists/,
    );
    await expectAwsError(
      ecs.send(new CreateCapacityProviderCommand({ name: "asg-two", autoScalingGroupProvider: { autoScalingGroupArn: asg("one") } })),
      "ClientException",
      400,
      /already used/,
    );
    const described = await ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: ["asg-one", "FARGATE", "nope"], include: ["TAGS"] }));
    expect(described.capacityProviders!.map((p) => p.name)).toEqual(["asg-one", "FARGATE"]);
    expect(described.capacityProviders![0].tags).toEqual([{ key: "team", value: "a" }]);
    expect(described.failures).toEqual([{ arn: `arn:aws:ecs:us-east-1:${ACCOUNT}:capacity-provider/nope`, reason: "MISSING" }]);

    // tags through TagResource, UntagResource and ListTagsForResource
    const cpArn = created.capacityProvider!.capacityProviderArn!;
    await ecs.send(new TagResourceCommand({ resourceArn: cpArn, tags: [{ key: "env", value: "prod" }] }));
    await ecs.send(new UntagResourceCommand({ resourceArn: cpArn, tagKeys: ["team"] }));
    expect((await ecs.send(new ListTagsForResourceCommand({ resourceArn: cpArn }))).tags).toEqual([{ key: "env", value: "prod" }]);
    // another account's ARN is refused (AccessDenied); another Region's names nothing
    await expectAwsError(ecs.send(new TagResourceCommand({ resourceArn: cpArn.replace(ACCOUNT, "111111111111"), tags: [{ key: "x", value: "y" }] })), "AccessDeniedException", 400);
    await expectAwsError(
      ecs.send(new TagResourceCommand({ resourceArn: cpArn.replace("us-east-1", "us-west-2"), tags: [{ key: "x", value: "y" }] })),
      "InvalidParameterException",
      400,
      /does not exist/,
    );

    const updated = await ecs.send(
      new UpdateCapacityProviderCommand({
        name: "asg-one",
        autoScalingGroupProvider: { managedScaling: { status: "ENABLED", targetCapacity: 80 }, managedTerminationProtection: "ENABLED" },
      }),
    );
    expect(updated.capacityProvider!.autoScalingGroupProvider).toMatchObject({
      managedScaling: { status: "ENABLED", targetCapacity: 80, maximumScalingStepSize: 10000 },
      managedTerminationProtection: "ENABLED",
    });
    expect(updated.capacityProvider!.updateStatus).toBe("UPDATE_COMPLETE");

    // associated with a cluster, it cannot be deleted; RunTask still cannot place tasks on it
    await ecs.send(new CreateClusterCommand({ clusterName: "cp-cluster" }));
    await ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "cp-cluster", capacityProviders: ["FARGATE", "asg-one"], defaultCapacityProviderStrategy: [] }));
    await expectAwsError(ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: "asg-one" })), "InvalidParameterException", 400, /associated with a cluster/);
    await ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "cp-cluster", capacityProviders: ["FARGATE"], defaultCapacityProviderStrategy: [] }));
    const deleted = await ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: `arn:aws:ecs:us-east-1:${ACCOUNT}:capacity-provider/asg-one` }));
    expect(deleted.capacityProvider).toMatchObject({ name: "asg-one", updateStatus: "DELETE_IN_PROGRESS" });
    await expectAwsError(ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: "asg-one" })), "InvalidParameterException", 400, /does not exist/);
    await expectAwsError(
      ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "cp-cluster", capacityProviders: ["asg-one"], defaultCapacityProviderStrategy: [] })),
      "InvalidParameterException",
      400,
    );
    await ecs.send(new DeleteClusterCommand({ cluster: "cp-cluster" }));
  });

  it("refuses bad names, Auto Scaling group ARNs and settings, and another account's or Region's provider is missing", async () => {
    const make = (name: string, arn: string, extra: object = {}) =>
      ecs.send(new CreateCapacityProviderCommand({ name, autoScalingGroupProvider: { autoScalingGroupArn: arn, ...extra } }));
    await expectAwsError(make("fargate-mine", asg("a")), "InvalidParameterException", 400, /can't begin/);
    await expectAwsError(make("AWSthing", asg("a")), "InvalidParameterException", 400, /can't begin/);
    await expectAwsError(make("bad name", asg("a")), "InvalidParameterException", 400);
    await expectAwsError(make("good", "arn:aws:autoscaling:us-east-1:000000000000:notagroup"), "InvalidParameterException", 400, /not valid/);
    await expectAwsError(make("good", asg("a", "us-west-2")), "InvalidParameterException", 400, /your account/);
    await expectAwsError(make("good", asg("a", "us-east-1", "111111111111")), "InvalidParameterException", 400, /your account/);
    await expectAwsError(make("good", asg("a"), { managedTerminationProtection: "ENABLED" }), "InvalidParameterException", 400, /managed scaling/);
    expect((await ecs.send(new DescribeCapacityProvidersCommand({}))).capacityProviders).toHaveLength(2);

    await make("regional", asg("r"));
    const west = new ECSClient(server.configFor(server.config.credentials, "us-west-2"));
    const w = await west.send(new DescribeCapacityProvidersCommand({ capacityProviders: ["regional", `arn:aws:ecs:us-east-1:${ACCOUNT}:capacity-provider/regional`] }));
    expect(w.capacityProviders).toEqual([]);
    expect(w.failures!.map((f) => f.reason)).toEqual(["MISSING", "MISSING"]);
    await expectAwsError(west.send(new DeleteCapacityProviderCommand({ capacityProvider: "regional" })), "InvalidParameterException", 400);
    // pages of at most 10, FARGATE first
    const page = await ecs.send(new DescribeCapacityProvidersCommand({ maxResults: 2 }));
    expect(page.capacityProviders!.map((p) => p.name)).toEqual(["FARGATE", "FARGATE_SPOT"]);
    const rest = await ecs.send(new DescribeCapacityProvidersCommand({ maxResults: 2, nextToken: page.nextToken }));
    expect(rest.capacityProviders!.map((p) => p.name)).toEqual(["regional"]);
    await ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: "regional" }));
  });
});

describe("restart", () => {
  it("keeps account settings and capacity providers", async () => {
    const first = await startTestServer();
    const dataDir = first.dataDir;
    const a = new ECSClient(first.config);
    await a.send(new PutAccountSettingDefaultCommand({ name: "containerInsights", value: "enabled" }));
    await a.send(new CreateCapacityProviderCommand({ name: "kept", autoScalingGroupProvider: { autoScalingGroupArn: asg("kept") }, tags: [{ key: "k", value: "v" }] }));
    await first.stop();
    const second = await startTestServer({ dataDir });
    try {
      const b = new ECSClient(second.config);
      expect((await b.send(new ListAccountSettingsCommand({ name: "containerInsights", effectiveSettings: true }))).settings![0]).toMatchObject({ value: "enabled", type: "user" });
      const cp = await b.send(new DescribeCapacityProvidersCommand({ capacityProviders: ["kept"], include: ["TAGS"] }));
      expect(cp.capacityProviders![0]).toMatchObject({ name: "kept", tags: [{ key: "k", value: "v" }] });
    } finally {
      await second.close();
    }
  });
});
