/**
 * Organizations' management policy types through @aws-sdk/client-organizations: enabling them,
 * their syntax and size quotas, attachment rules, the list filters, and DescribeEffectivePolicy
 * merging root → OU → account with the inheritance operators. docs/organizations.md,
 * "Management policies".
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as ORG from "@aws-sdk/client-organizations";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createMemberAccount, expectReason, intoMember, orgAdmin } from "./organizations-helpers.ts";
import { expectAwsError, type Creds } from "./iam-helpers.ts";

const MANAGEMENT = "000000000000";
const OUTSIDER = "222222222222";
const TYPES = ["TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2"] as const;

let s: TestServer;
let org: ORG.OrganizationsClient;
let admin: Creds;
let rootId: string;
let ouId: string;
let member: string;

useTestServer(async (server) => {
  s = server;
  org = new ORG.OrganizationsClient(s.config);
  admin = await orgAdmin(s);
});

const orgAs = (creds: Creds) => new ORG.OrganizationsClient(s.configFor(creds));

let n = 0;
async function create(Type: ORG.PolicyType, content: unknown): Promise<string> {
  const Content = typeof content === "string" ? content : JSON.stringify(content);
  return (await org.send(new ORG.CreatePolicyCommand({ Name: `p${n++}`, Description: "d", Type, Content }))).Policy!.PolicySummary!.Id!;
}
const attach = (PolicyId: string, TargetId: string) => org.send(new ORG.AttachPolicyCommand({ PolicyId, TargetId }));
const detach = (PolicyId: string, TargetId: string) => org.send(new ORG.DetachPolicyCommand({ PolicyId, TargetId }));
async function effective(PolicyType: ORG.EffectivePolicyType, TargetId?: string, client = org): Promise<unknown> {
  const e = (await client.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType, TargetId }))).EffectivePolicy!;
  expect(e.PolicyType).toBe(PolicyType);
  return JSON.parse(e.PolicyContent!);
}
const malformed = (Type: ORG.PolicyType, content: unknown) =>
  expectAwsError(
    org.send(new ORG.CreatePolicyCommand({ Name: "bad", Description: "d", Type, Content: typeof content === "string" ? content : JSON.stringify(content) })),
    "MalformedPolicyDocumentException",
    400,
    /^The provided policy document doesn't meet the requirements of the specified policy type\./,
  );

const costCenter = (ops: Record<string, unknown>) => ({ tags: { costcenter: { tag_key: { "@@assign": "CostCenter" }, ...ops } } });

describe("Organizations management policies", () => {
  it("sets up root → OU → member account", async () => {
    await org.send(new ORG.CreateOrganizationCommand({ FeatureSet: "ALL" }));
    rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    ouId = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "workloads" }))).OrganizationalUnit!.Id!;
    member = await createMemberAccount(org, "app", "app@example.com");
    await org.send(new ORG.MoveAccountCommand({ AccountId: member, SourceParentId: rootId, DestinationParentId: ouId }));
  });

  it("creates a policy of each type, but attaches none before its type is enabled", async () => {
    const tag = await create("TAG_POLICY", costCenter({ tag_value: { "@@assign": ["100"] } }));
    expect((await org.send(new ORG.DescribePolicyCommand({ PolicyId: tag }))).Policy!.PolicySummary).toMatchObject({
      Type: "TAG_POLICY",
      AwsManaged: false,
      Arn: expect.stringMatching(new RegExp(`^arn:aws:organizations::${MANAGEMENT}:policy/o-[a-z0-9]{10}/tag_policy/${tag}$`)),
    });
    await expectAwsError(
      attach(tag, member),
      "PolicyTypeNotEnabledException",
      409,
      "The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root.",
    );
    await expectAwsError(effective("TAG_POLICY", member), "EffectivePolicyNotFoundException", 400, "We can't find an effective policy of the specified type.");
    await org.send(new ORG.DeletePolicyCommand({ PolicyId: tag }));
  });

  it("enables every management type on the root, with no AWS managed policy attached", async () => {
    let root: ORG.Root | undefined;
    for (const PolicyType of TYPES) root = (await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType }))).Root!;
    expect(root!.PolicyTypes).toEqual(TYPES.map((Type) => ({ Type, Status: "ENABLED" })));
    await expectAwsError(org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "TAG_POLICY" })), "PolicyTypeAlreadyEnabledException", 409);
    for (const Filter of TYPES) {
      expect((await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: member, Filter }))).Policies).toEqual([]);
      expect((await org.send(new ORG.ListPoliciesCommand({ Filter }))).Policies).toEqual([]);
    }
    // types today's SDKs send that this organization does not offer (docs/organizations.md)
    await expectAwsError(
      org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SECURITYHUB_POLICY" })),
      "PolicyTypeNotAvailableForOrganizationException",
      409,
      "You can't use the SECURITYHUB_POLICY policy type: it isn't available in this organization.",
    );
  });

  it("refuses documents that break each type's syntax with MalformedPolicyDocumentException", async () => {
    await malformed("TAG_POLICY", "{not json");
    await malformed("TAG_POLICY", ["tags"]);
    await malformed("TAG_POLICY", { Version: "2012-10-17", Statement: [] });
    await malformed("TAG_POLICY", { tags: { costcenter: { tag_key: "CostCenter" } } });
    await malformed("TAG_POLICY", costCenter({ tag_value: { "@@append": "100" } }));
    await malformed("TAG_POLICY", costCenter({ tag_value: { "@@replace": ["100"] } }));
    await malformed("TAG_POLICY", costCenter({ tag_value: { "@@assign": [1, 2] } }));
    await malformed("TAG_POLICY", costCenter({ enforced_for: { "@@assign": ["not a resource"] } }));
    await malformed("TAG_POLICY", costCenter({ colour: { "@@assign": "blue" } }));
    await malformed("TAG_POLICY", { tags: { costcenter: { tag_key: { "@@assign": "Project" } } } });
    await malformed("TAG_POLICY", { tags: { costcenter: { tag_key: { "@@assign": "CostCenter", extra: {} } } } });
    await malformed("TAG_POLICY", costCenter({ tag_value: { "@@operators_allowed_for_child_policies": ["@@none", "@@assign"] } }));
    await malformed("TAG_POLICY", costCenter({ tag_value: { "@@operators_allowed_for_child_policies": [] } }));
    for (const [Type, top] of [
      ["TAG_POLICY", "tags"],
      ["BACKUP_POLICY", "plans"],
      ["AISERVICES_OPT_OUT_POLICY", "services"],
    ] as const) {
      await malformed(Type, { [top]: { "@@assign": null } });
      await malformed(Type, { [top]: { "@@append": [] } });
    }
    await malformed("AISERVICES_OPT_OUT_POLICY", { services: { default: { opt_out_policy: { "@@assign": "maybe" } } } });
    await malformed("AISERVICES_OPT_OUT_POLICY", { services: { default: { opt_in: { "@@assign": "optIn" } } } });
    await malformed("AISERVICES_OPT_OUT_POLICY", { tags: {} });
    await malformed("BACKUP_POLICY", { plans: { daily: { schedule: { "@@assign": "daily" } } } });
    await malformed("BACKUP_POLICY", { plans: { daily: { regions: { "@@assign": "us-east-1" } } } });
    await malformed("CHATBOT_POLICY", { chatbot: { platforms: "slack" } });
    await malformed("DECLARATIVE_POLICY_EC2", { ec2: {} });
    expect((await org.send(new ORG.ListPoliciesCommand({ Filter: "TAG_POLICY" }))).Policies).toEqual([]);
    // what AWS's examples write is accepted
    const example = await create("TAG_POLICY", costCenter({ tag_value: { "@@assign": ["100", "300*"] }, enforced_for: { "@@assign": ["secretsmanager:*", "ec2:ALL_SUPPORTED"] } }));
    await org.send(new ORG.DeletePolicyCommand({ PolicyId: example }));
  });

  it("keeps each type's size quota", async () => {
    const optOut = (pad: number) => ({ services: { default: { opt_out_policy: { "@@assign": "optOut" } }, ...Object.fromEntries([[`x${"a".repeat(pad)}`, {}]]) } });
    const small = JSON.stringify(optOut(2400));
    expect(small.length).toBeLessThanOrEqual(2500);
    await create("AISERVICES_OPT_OUT_POLICY", small);
    const big = JSON.stringify(optOut(2500));
    await expectReason(
      org.send(new ORG.CreatePolicyCommand({ Name: "big", Description: "d", Type: "AISERVICES_OPT_OUT_POLICY", Content: big })),
      "ConstraintViolationException",
      409,
      "POLICY_CONTENT_LIMIT_EXCEEDED",
    );
    // a tag policy may be 10,000 characters, twice an SCP's quota
    const tags = JSON.stringify(costCenter({ tag_value: { "@@assign": Array.from({ length: 900 }, (_, i) => `v${i}`) } }));
    expect(tags.length).toBeGreaterThan(5120);
    expect(tags.length).toBeLessThanOrEqual(10_000);
    await create("TAG_POLICY", tags);
    const huge = JSON.stringify(costCenter({ tag_value: { "@@assign": Array.from({ length: 2000 }, (_, i) => `v${i}`) } }));
    await expectReason(
      org.send(new ORG.CreatePolicyCommand({ Name: "huge", Description: "d", Type: "TAG_POLICY", Content: huge })),
      "ConstraintViolationException",
      409,
      "POLICY_CONTENT_LIMIT_EXCEEDED",
    );
    for (const p of (await org.send(new ORG.ListPoliciesCommand({ Filter: "AISERVICES_OPT_OUT_POLICY" }))).Policies!)
      await org.send(new ORG.DeletePolicyCommand({ PolicyId: p.Id }));
    for (const p of (await org.send(new ORG.ListPoliciesCommand({ Filter: "TAG_POLICY" }))).Policies!) await org.send(new ORG.DeletePolicyCommand({ PolicyId: p.Id }));
  });

  it("merges the effective tag policy from the root through the OU to the account", async () => {
    const atRoot = await create(
      "TAG_POLICY",
      costCenter({
        tag_key: { "@@assign": "CostCenter", "@@operators_allowed_for_child_policies": ["@@none"] },
        tag_value: { "@@assign": ["100", "200"] },
        enforced_for: { "@@assign": ["ec2:instance"] },
      }),
    );
    const atOu = await create(
      "TAG_POLICY",
      costCenter({ tag_key: { "@@assign": "COSTCENTER" }, tag_value: { "@@append": ["300"] }, enforced_for: { "@@append": ["ecs:cluster"] } }),
    );
    const atAccount = await create("TAG_POLICY", {
      // policy keys are not case sensitive: this is the root's and the OU's "costcenter"
      tags: { CostCenter: { tag_value: { "@@remove": ["100"] } }, project: { tag_key: { "@@assign": "Project" }, tag_value: { "@@assign": ["alpha"] } } },
    });
    await attach(atRoot, rootId);
    await attach(atOu, ouId);
    await attach(atAccount, member);
    // the OU's @@assign of the key's spelling is ignored: the root allows no operator below it
    expect(await effective("TAG_POLICY", member)).toEqual({
      tags: {
        costcenter: { tag_key: "CostCenter", tag_value: ["200", "300"], enforced_for: ["ec2:instance", "ecs:cluster"] },
        project: { tag_key: "Project", tag_value: ["alpha"] },
      },
    });
    // the management account inherits only the root's policy
    expect(await effective("TAG_POLICY")).toEqual({ tags: { costcenter: { tag_key: "CostCenter", tag_value: ["100", "200"], enforced_for: ["ec2:instance"] } } });

    const listed = (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: ouId, Filter: "TAG_POLICY" }))).Policies!;
    expect(listed.map((p) => p.Id)).toEqual([atOu]);
    expect((await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: ouId, Filter: "BACKUP_POLICY" }))).Policies).toEqual([]);
    expect((await org.send(new ORG.ListPoliciesCommand({ Filter: "TAG_POLICY" }))).Policies!.map((p) => p.Id).sort()).toEqual([atRoot, atOu, atAccount].sort());
    expect((await org.send(new ORG.ListTargetsForPolicyCommand({ PolicyId: atRoot }))).Targets).toEqual([
      { TargetId: rootId, Arn: expect.stringContaining(":root/"), Name: "Root", Type: "ROOT" },
    ]);
  });

  it("changes the effective policy with UpdatePolicy and answers its last update time", async () => {
    const atAccount = (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: member, Filter: "TAG_POLICY" }))).Policies![0].Id!;
    const before = (await org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "TAG_POLICY", TargetId: member }))).EffectivePolicy!;
    expect(before.TargetId).toBe(member);
    expect(before.LastUpdatedTimestamp).toBeInstanceOf(Date);
    await expectAwsError(org.send(new ORG.UpdatePolicyCommand({ PolicyId: atAccount, Content: '{"tags": {"x": 1}}' })), "MalformedPolicyDocumentException", 400);
    expect(await effective("TAG_POLICY", member)).toMatchObject({ tags: { project: { tag_value: ["alpha"] } } });
    await org.send(new ORG.UpdatePolicyCommand({ PolicyId: atAccount, Content: JSON.stringify({ tags: { costcenter: { tag_value: { "@@append": ["400"] } } } }) }));
    expect(await effective("TAG_POLICY", member)).toEqual({
      tags: { costcenter: { tag_key: "CostCenter", tag_value: ["100", "200", "300", "400"], enforced_for: ["ec2:instance", "ecs:cluster"] } },
    });
  });

  it("merges AI services opt-out and backup policies", async () => {
    const optOutAll = await create("AISERVICES_OPT_OUT_POLICY", {
      services: {
        default: { opt_out_policy: { "@@assign": "optOut" } },
        rekognition: { opt_out_policy: { "@@assign": "optOut", "@@operators_allowed_for_child_policies": ["@@none"] } },
      },
    });
    const optInLex = await create("AISERVICES_OPT_OUT_POLICY", {
      services: { lex: { opt_out_policy: { "@@assign": "optIn" } }, rekognition: { opt_out_policy: { "@@assign": "optIn" } } },
    });
    await attach(optOutAll, rootId);
    await attach(optInLex, member);
    expect(await effective("AISERVICES_OPT_OUT_POLICY", member)).toEqual({
      services: { default: { opt_out_policy: "optOut" }, rekognition: { opt_out_policy: "optOut" }, lex: { opt_out_policy: "optIn" } },
    });

    const plan = (regions: Record<string, string[]>) => ({
      plans: { daily: { regions, rules: { nightly: { schedule_expression: { "@@assign": "cron(0 5 ? * * *)" }, target_backup_vault_name: { "@@assign": "Default" } } } } },
    });
    await attach(await create("BACKUP_POLICY", plan({ "@@assign": ["us-east-1", "us-west-2"] })), rootId);
    await attach(await create("BACKUP_POLICY", plan({ "@@append": ["eu-west-1"] })), ouId);
    await attach(await create("BACKUP_POLICY", { plans: { daily: { regions: { "@@remove": ["us-east-1"] } } } }), member);
    expect(await effective("BACKUP_POLICY", member)).toEqual({
      plans: { daily: { regions: ["us-west-2", "eu-west-1"], rules: { nightly: { schedule_expression: "cron(0 5 ? * * *)", target_backup_vault_name: "Default" } } } },
    });
  });

  it("answers EffectivePolicyNotFoundException, TargetNotFoundException and TARGET_NOT_SUPPORTED", async () => {
    await expectAwsError(effective("CHATBOT_POLICY", member), "EffectivePolicyNotFoundException", 400);
    await expectAwsError(effective("TAG_POLICY", "123456789012"), "TargetNotFoundException", 404);
    await expectReason(org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "TAG_POLICY", TargetId: ouId })), "InvalidInputException", 400, "TARGET_NOT_SUPPORTED");
    await expectReason(org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "TAG_POLICY", TargetId: rootId })), "InvalidInputException", 400, "TARGET_NOT_SUPPORTED");
    await expectReason(
      org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "SERVICE_CONTROL_POLICY" as ORG.EffectivePolicyType })),
      "InvalidInputException",
      400,
      "INVALID_ENUM",
    );
  });

  it("lets a member read its own effective policies and nobody else's", async () => {
    const inMember = orgAs(await intoMember(s, admin, member));
    expect(await effective("AISERVICES_OPT_OUT_POLICY", undefined, inMember)).toMatchObject({ services: { lex: { opt_out_policy: "optIn" } } });
    expect(await effective("TAG_POLICY", member, inMember)).toMatchObject({ tags: { costcenter: { tag_key: "CostCenter" } } });
    await expectAwsError(effective("TAG_POLICY", MANAGEMENT, inMember), "AccessDeniedException", 403);
    await expectAwsError(inMember.send(new ORG.ListPoliciesCommand({ Filter: "TAG_POLICY" })), "AccessDeniedException", 403);
    const outsider = orgAs({ accessKeyId: OUTSIDER, secretAccessKey: "test" });
    await expectAwsError(effective("TAG_POLICY", member, outsider), "AWSOrganizationsNotInUseException", 404);
    await expectAwsError(effective("TAG_POLICY", undefined, outsider), "AWSOrganizationsNotInUseException", 404);
  });

  it("keeps the attachment quotas per type and lets the last management policy go", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await create("AISERVICES_OPT_OUT_POLICY", { services: { [`s${i}`]: { opt_out_policy: { "@@assign": "optOut" } } } }));
    for (const id of ids) await attach(id, member);
    const sixth = await create("AISERVICES_OPT_OUT_POLICY", { services: { default: { opt_out_policy: { "@@assign": "optIn" } } } });
    await expectReason(attach(sixth, member), "ConstraintViolationException", 409, "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED");
    // tag policies allow ten per target
    for (let i = 0; i < 9; i++) await attach(await create("TAG_POLICY", { tags: { [`k${i}`]: { tag_key: { "@@assign": `K${i}` } } } }), member);
    await expectReason(
      attach(await create("TAG_POLICY", { tags: { k10: { tag_key: { "@@assign": "K10" } } } }), member),
      "ConstraintViolationException",
      409,
      "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
    );
    // no AWS managed policy backs a management type: every one may be detached
    for (const p of (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: member, Filter: "AISERVICES_OPT_OUT_POLICY" }))).Policies!) await detach(p.Id!, member);
    expect(await effective("AISERVICES_OPT_OUT_POLICY", member)).toEqual({ services: { default: { opt_out_policy: "optOut" }, rekognition: { opt_out_policy: "optOut" } } });
  });

  it("detaches every policy of a type when the type is disabled", async () => {
    await org.send(new ORG.DisablePolicyTypeCommand({ RootId: rootId, PolicyType: "TAG_POLICY" }));
    await expectAwsError(effective("TAG_POLICY", member), "EffectivePolicyNotFoundException", 400);
    expect((await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: member, Filter: "TAG_POLICY" }))).Policies).toEqual([]);
    await expectAwsError(org.send(new ORG.DisablePolicyTypeCommand({ RootId: rootId, PolicyType: "TAG_POLICY" })), "PolicyTypeNotEnabledException", 409);
    expect(await effective("BACKUP_POLICY", member)).toMatchObject({ plans: { daily: { regions: ["us-west-2", "eu-west-1"] } } });
  });

  it("answers any JSON document of any type with a policy or a 4xx, never a 5xx", async () => {
    const key = fc.constantFrom(
      "@@assign",
      "@@append",
      "@@remove",
      "@@operators_allowed_for_child_policies",
      "@@all",
      "tag_key",
      "tag_value",
      "enforced_for",
      "default",
      "opt_out_policy",
      "regions",
      "x",
      "__proto__",
    );
    const word = fc.oneof(fc.constant(null), fc.constantFrom("optIn", "optOut", "CostCenter", "costcenter", "ec2:instance", "@@all", "@@none", "@@assign", 1, true));
    const leaf = fc.oneof(word, fc.array(word, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }));
    const { node } = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, { arbitrary: leaf, weight: 2 }, { arbitrary: fc.dictionary(key, tie("node"), { maxKeys: 3 }), weight: 1 }),
    }));
    const top: Record<(typeof TYPES)[number], string> = {
      TAG_POLICY: "tags",
      BACKUP_POLICY: "plans",
      AISERVICES_OPT_OUT_POLICY: "services",
      CHATBOT_POLICY: "chatbot",
      DECLARATIVE_POLICY_EC2: "ec2_attributes",
    };
    const document = fc.oneof(
      fc.json(),
      // settings under the type's own key, with operators in unexpected places
      { arbitrary: fc.dictionary(fc.oneof(key, fc.constantFrom("@@assign", "@@append")), node, { maxKeys: 3 }).map((settings) => ({ settings })), weight: 4 },
      fc.record({ tags: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })) }).map((d) => JSON.stringify(d)),
      fc.record({ services: fc.dictionary(fc.constantFrom("default", "lex", "__proto__"), fc.jsonValue({ maxDepth: 3 })) }).map((d) => JSON.stringify(d)),
    );
    const clientError = (e: unknown) => {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      expect(status, String(e)).toBeGreaterThanOrEqual(400);
      expect(status, String(e)).toBeLessThan(500);
    };
    let created = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TYPES), document, async (Type, d) => {
        const Content = typeof d === "string" ? d : JSON.stringify({ [top[Type]]: d.settings });
        let id: string | undefined;
        try {
          id = (await org.send(new ORG.CreatePolicyCommand({ Name: `fuzz${created++}`, Description: "d", Type, Content }))).Policy!.PolicySummary!.Id!;
          // an accepted document is merged into the member's effective policy too
          await attach(id, member).catch(clientError);
          await org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: Type, TargetId: member })).catch(clientError);
        } catch (e) {
          clientError(e);
        } finally {
          if (id) {
            await detach(id, member).catch(clientError);
            await org.send(new ORG.DeletePolicyCommand({ PolicyId: id }));
          }
        }
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});
