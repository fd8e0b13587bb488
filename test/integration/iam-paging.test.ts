/**
 * IAM lists over many entities in two accounts: ListUsers, ListRoles, ListGroups and ListPolicies
 * page complete, disjoint and in name order (case-insensitively), confined to the caller's
 * account, with PathPrefix and usage filters; markers IAM did not issue are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  ListGroupsCommand,
  ListPoliciesCommand,
  ListRolesCommand,
  ListUsersCommand,
  UpdateUserCommand,
} from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { doc, expectAwsError } from "./iam-helpers.ts";

const A = "111111111111";
const B = "222222222222";
let server: TestServer;
let iamA: IAMClient;
let iamB: IAMClient;

const trust = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);
const policyDoc = doc([{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }]);
// mixed case: IAM orders names case-insensitively
const userName = (i: number) => `${i % 2 ? "User" : "user"}-${String((i * 53) % 240).padStart(3, "0")}`;

async function all<T>(call: (marker?: string) => Promise<{ items: T[]; IsTruncated?: boolean; Marker?: string }>): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const p = await call(marker);
    out.push(...p.items);
    expect(p.IsTruncated).toBe(p.Marker !== undefined);
    marker = p.Marker;
  } while (marker);
  return out;
}

beforeAll(async () => {
  server = await startTestServer();
  iamA = new IAMClient(server.configFor({ accessKeyId: A, secretAccessKey: "test" }));
  iamB = new IAMClient(server.configFor({ accessKeyId: B, secretAccessKey: "test" }));
  for (let i = 0; i < 240; i++) await iamA.send(new CreateUserCommand({ UserName: userName(i), Path: i % 3 ? "/" : "/ops/" }));
  for (let i = 0; i < 40; i++) await iamB.send(new CreateUserCommand({ UserName: `b-${i}` }));
  for (let i = 0; i < 30; i++) await iamA.send(new CreateRoleCommand({ RoleName: `Role${String(29 - i).padStart(2, "0")}`, AssumeRolePolicyDocument: trust }));
  for (let i = 0; i < 12; i++) await iamA.send(new CreateGroupCommand({ GroupName: `g${i}` }));
  for (let i = 0; i < 25; i++) await iamA.send(new CreatePolicyCommand({ PolicyName: `p-${String(24 - i).padStart(2, "0")}`, PolicyDocument: policyDoc }));
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe("ListUsers / ListRoles / ListGroups", () => {
  it("page the account's users by name, case-insensitively, complete and disjoint", async () => {
    const names = await all(async (m) => {
      const o = await iamA.send(new ListUsersCommand({ MaxItems: 17, Marker: m }));
      return { items: o.Users!.map((u) => u.UserName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    const expected = Array.from({ length: 240 }, (_, i) => userName(i)).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
    expect(names).toEqual(expected);
    const b = await iamB.send(new ListUsersCommand({}));
    expect(b.Users!.map((u) => u.UserName).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `b-${i}`).sort());
    expect(b.IsTruncated).toBe(false);
  });

  it("PathPrefix narrows the pages; a renamed user moves to its new place", async () => {
    const ops = await all(async (m) => {
      const o = await iamA.send(new ListUsersCommand({ PathPrefix: "/ops/", MaxItems: 9, Marker: m }));
      return { items: o.Users!.map((u) => u.UserName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(ops).toHaveLength(80);
    await iamA.send(new UpdateUserCommand({ UserName: userName(0), NewUserName: "zz-renamed" }));
    const last = await all(async (m) => {
      const o = await iamA.send(new ListUsersCommand({ MaxItems: 100, Marker: m }));
      return { items: o.Users!.map((u) => u.UserName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(last[last.length - 1]).toBe("zz-renamed");
    expect(last).not.toContain(userName(0));
    expect(last).toHaveLength(240);
  });

  it("roles and groups page in name order", async () => {
    const roles = await all(async (m) => {
      const o = await iamA.send(new ListRolesCommand({ MaxItems: 7, Marker: m }));
      return { items: o.Roles!.map((r) => r.RoleName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(roles).toEqual(Array.from({ length: 30 }, (_, i) => `Role${String(i).padStart(2, "0")}`));
    const groups = await all(async (m) => {
      const o = await iamA.send(new ListGroupsCommand({ MaxItems: 5, Marker: m }));
      return { items: o.Groups!.map((g) => g.GroupName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(groups).toEqual(Array.from({ length: 12 }, (_, i) => `g${i}`).sort());
    expect((await iamB.send(new ListRolesCommand({}))).Roles).toEqual([]);
  });

  it("refuses a marker it did not issue", async () => {
    await expectAwsError(iamA.send(new ListUsersCommand({ Marker: "bm90LWEtbWFya2Vy" })), "InvalidInputException", 400, "Invalid Marker.");
  });
});

describe("ListPolicies", () => {
  it("pages customer and AWS managed policies together in name order", async () => {
    const local = await all(async (m) => {
      const o = await iamA.send(new ListPoliciesCommand({ Scope: "Local", MaxItems: 4, Marker: m }));
      return { items: o.Policies!.map((p) => p.PolicyName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(local).toEqual(Array.from({ length: 25 }, (_, i) => `p-${String(i).padStart(2, "0")}`));
    const everything = await all(async (m) => {
      const o = await iamA.send(new ListPoliciesCommand({ MaxItems: 20, Marker: m }));
      return { items: o.Policies!.map((p) => p.PolicyName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    const awsOnly = await all(async (m) => {
      const o = await iamA.send(new ListPoliciesCommand({ Scope: "AWS", MaxItems: 1000, Marker: m }));
      return { items: o.Policies!.map((p) => p.PolicyName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(awsOnly.length).toBeGreaterThan(1000);
    expect(everything).toEqual([...local, ...awsOnly].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    expect((await iamB.send(new ListPoliciesCommand({ Scope: "Local" }))).Policies).toEqual([]);
  });

  it("OnlyAttached pages only attached policies, with their counts", async () => {
    for (const n of ["p-03", "p-17", "p-21"]) {
      await iamA.send(new AttachUserPolicyCommand({ UserName: userName(1), PolicyArn: `arn:aws:iam::${A}:policy/${n}` }));
    }
    const attached = await all(async (m) => {
      const o = await iamA.send(new ListPoliciesCommand({ Scope: "Local", OnlyAttached: true, MaxItems: 2, Marker: m }));
      for (const p of o.Policies!) expect(p.AttachmentCount).toBe(1);
      return { items: o.Policies!.map((p) => p.PolicyName!), IsTruncated: o.IsTruncated, Marker: o.Marker };
    });
    expect(attached).toEqual(["p-03", "p-17", "p-21"]);
  });
});
