/** IAM through the real @aws-sdk/client-iam: every implemented operation, AWS's errors and authorization. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  IAMClient,
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteGroupCommand,
  DeleteGroupPolicyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetContextKeysForPrincipalPolicyCommand,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListGroupPoliciesCommand,
  ListGroupsCommand,
  ListGroupsForUserCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  ListRolesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  SetDefaultPolicyVersionCommand,
  SimulateCustomPolicyCommand,
  SimulatePrincipalPolicyCommand,
  TagRoleCommand,
  TagUserCommand,
  UntagRoleCommand,
  UntagUserCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
  UpdateRoleCommand,
  UpdateUserCommand,
} from "@aws-sdk/client-iam";
import { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { signedFetch } from "../support/signed-fetch.ts";
import { ACCOUNT, allow, deny, doc, expectAwsError, trustAccount, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let iam: IAMClient;
beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

const ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess";
const POLICY = doc([allow("iam:Get*", "*")]);

describe("users", () => {
  it("creates a user with AWS's identifiers, ARN with path and CreateDate", async () => {
    const before = Date.now();
    const r = await iam.send(new CreateUserCommand({ UserName: "u-create", Path: "/eng/team/" }));
    expect(r.User!.UserId).toMatch(/^AIDA[A-Z0-9]{17}$/);
    expect(r.User!.Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/eng/team/u-create`);
    expect(r.User!.Path).toBe("/eng/team/");
    expect(r.User!.CreateDate!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    const got = await iam.send(new GetUserCommand({ UserName: "u-create" }));
    expect(got.User!.UserId).toBe(r.User!.UserId);
    expect(got.User!.Arn).toBe(r.User!.Arn);
  });

  it("refuses duplicates (names are case-insensitive) with EntityAlreadyExists 409", async () => {
    await iam.send(new CreateUserCommand({ UserName: "u-dup" }));
    await expectAwsError(iam.send(new CreateUserCommand({ UserName: "u-dup" })), "EntityAlreadyExistsException", 409, "User with name u-dup already exists.");
    await expectAwsError(iam.send(new CreateUserCommand({ UserName: "U-DUP" })), "EntityAlreadyExistsException", 409, "User with name U-DUP already exists.");
  });

  it("answers NoSuchEntity 404 for a missing user", async () => {
    await expectAwsError(iam.send(new GetUserCommand({ UserName: "nobody" })), "NoSuchEntityException", 404, "The user with name nobody cannot be found.");
    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "nobody" })), "NoSuchEntityException", 404, "The user with name nobody cannot be found.");
  });

  it("validates names against the model with ValidationError", async () => {
    await expectAwsError(
      iam.send(new CreateUserCommand({ UserName: "bad name!" })),
      "ValidationError",
      400,
      "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    );
  });

  it("lists with PathPrefix and pages with Marker/MaxItems", async () => {
    for (const n of ["p-a", "p-b", "p-c", "p-d", "p-e"]) await iam.send(new CreateUserCommand({ UserName: n, Path: "/paging/" }));
    const names: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const r = await iam.send(new ListUsersCommand({ PathPrefix: "/paging/", MaxItems: 2, Marker: marker }));
      pages++;
      names.push(...r.Users!.map((u) => u.UserName!));
      expect(r.Users!.length).toBeLessThanOrEqual(2);
      if (r.IsTruncated) expect(r.Marker).toBeTruthy();
      else expect(r.Marker).toBeUndefined();
      marker = r.IsTruncated ? r.Marker : undefined;
    } while (marker);
    expect(pages).toBe(3);
    expect(names).toEqual(["p-a", "p-b", "p-c", "p-d", "p-e"]);
    const all = await iam.send(new ListUsersCommand({}));
    expect(all.Users!.some((u) => u.UserName === "u-create")).toBe(true);
  });

  it("renames and moves a user; the ARN follows", async () => {
    await iam.send(new CreateUserCommand({ UserName: "u-old" }));
    await iam.send(new UpdateUserCommand({ UserName: "u-old", NewUserName: "u-new", NewPath: "/moved/" }));
    await expectAwsError(iam.send(new GetUserCommand({ UserName: "u-old" })), "NoSuchEntityException", 404);
    const r = await iam.send(new GetUserCommand({ UserName: "u-new" }));
    expect(r.User!.Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/moved/u-new`);
    await expectAwsError(iam.send(new UpdateUserCommand({ UserName: "u-new", NewUserName: "u-dup" })), "EntityAlreadyExistsException", 409, "User with name u-dup already exists.");
  });

  it("tags users (keys case-insensitive) and untags them", async () => {
    await iam.send(new CreateUserCommand({ UserName: "u-tags", Tags: [{ Key: "team", Value: "red" }] }));
    await iam.send(
      new TagUserCommand({
        UserName: "u-tags",
        Tags: [
          { Key: "Team", Value: "blue" },
          { Key: "env", Value: "dev" },
        ],
      }),
    );
    const t = await iam.send(new ListUserTagsCommand({ UserName: "u-tags" }));
    expect(t.Tags).toEqual([
      { Key: "env", Value: "dev" },
      { Key: "Team", Value: "blue" },
    ]);
    expect((await iam.send(new GetUserCommand({ UserName: "u-tags" }))).User!.Tags).toHaveLength(2);
    await iam.send(new UntagUserCommand({ UserName: "u-tags", TagKeys: ["TEAM"] }));
    expect((await iam.send(new ListUserTagsCommand({ UserName: "u-tags" }))).Tags).toEqual([{ Key: "env", Value: "dev" }]);
    await expectAwsError(
      iam.send(
        new TagUserCommand({
          UserName: "u-tags",
          Tags: [
            { Key: "a", Value: "1" },
            { Key: "A", Value: "2" },
          ],
        }),
      ),
      "InvalidInputException",
      400,
      "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    );
  });

  it("deletes a user only once keys, policies and groups are gone", async () => {
    await iam.send(new CreateUserCommand({ UserName: "u-del" }));
    const k = await iam.send(new CreateAccessKeyCommand({ UserName: "u-del" }));
    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "u-del" })), "DeleteConflictException", 409, "Cannot delete entity, must delete access keys first.");
    await iam.send(new DeleteAccessKeyCommand({ UserName: "u-del", AccessKeyId: k.AccessKey!.AccessKeyId }));
    await iam.send(new PutUserPolicyCommand({ UserName: "u-del", PolicyName: "p", PolicyDocument: POLICY }));
    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "u-del" })), "DeleteConflictException", 409, "Cannot delete entity, must delete policies first.");
    await iam.send(new DeleteUserPolicyCommand({ UserName: "u-del", PolicyName: "p" }));
    await iam.send(new AttachUserPolicyCommand({ UserName: "u-del", PolicyArn: ADMIN }));
    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "u-del" })), "DeleteConflictException", 409, "Cannot delete entity, must detach all policies first.");
    await iam.send(new DetachUserPolicyCommand({ UserName: "u-del", PolicyArn: ADMIN }));
    await iam.send(new DeleteUserCommand({ UserName: "u-del" }));
    await expectAwsError(iam.send(new GetUserCommand({ UserName: "u-del" })), "NoSuchEntityException", 404);
  });
});

describe("access keys", () => {
  it("creates AKIA keys with 40-character secrets, at most two per user", async () => {
    await iam.send(new CreateUserCommand({ UserName: "k-user" }));
    const a = await iam.send(new CreateAccessKeyCommand({ UserName: "k-user" }));
    expect(a.AccessKey!.AccessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(a.AccessKey!.SecretAccessKey).toHaveLength(40);
    expect(a.AccessKey!.Status).toBe("Active");
    expect(a.AccessKey!.UserName).toBe("k-user");
    const b = await iam.send(new CreateAccessKeyCommand({ UserName: "k-user" }));
    await expectAwsError(iam.send(new CreateAccessKeyCommand({ UserName: "k-user" })), "LimitExceededException", 409, "Cannot exceed quota for AccessKeysPerUser: 2");
    const list = await iam.send(new ListAccessKeysCommand({ UserName: "k-user" }));
    expect(list.AccessKeyMetadata!.map((k) => k.AccessKeyId).sort()).toEqual([a.AccessKey!.AccessKeyId, b.AccessKey!.AccessKeyId].sort());
    expect(list.AccessKeyMetadata!.every((k) => (k as Record<string, unknown>).SecretAccessKey === undefined)).toBe(true);
    const first = await iam.send(new ListAccessKeysCommand({ UserName: "k-user", MaxItems: 1 }));
    expect(first.IsTruncated).toBe(true);
    const second = await iam.send(new ListAccessKeysCommand({ UserName: "k-user", MaxItems: 1, Marker: first.Marker }));
    expect(second.IsTruncated).toBe(false);
    expect([first.AccessKeyMetadata![0].AccessKeyId, second.AccessKeyMetadata![0].AccessKeyId].sort()).toEqual(list.AccessKeyMetadata!.map((k) => k.AccessKeyId).sort());
    await iam.send(new DeleteAccessKeyCommand({ UserName: "k-user", AccessKeyId: b.AccessKey!.AccessKeyId }));
    await expectAwsError(
      iam.send(new DeleteAccessKeyCommand({ UserName: "k-user", AccessKeyId: b.AccessKey!.AccessKeyId })),
      "NoSuchEntityException",
      404,
      `The Access Key with id ${b.AccessKey!.AccessKeyId} cannot be found.`,
    );
  });

  it("signs as the user; an inactive key is refused with InvalidClientTokenId", async () => {
    const creds = await userWithKey(iam, "k-signer");
    const sts = new STSClient(s.configFor(creds));
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/k-signer`);
    await iam.send(new UpdateAccessKeyCommand({ UserName: "k-signer", AccessKeyId: creds.accessKeyId, Status: "Inactive" }));
    expect((await iam.send(new ListAccessKeysCommand({ UserName: "k-signer" }))).AccessKeyMetadata![0].Status).toBe("Inactive");
    await expectAwsError(sts.send(new GetCallerIdentityCommand({})), "InvalidClientTokenId", 403, "The security token included in the request is invalid.");
    await iam.send(new UpdateAccessKeyCommand({ UserName: "k-signer", AccessKeyId: creds.accessKeyId, Status: "Active" }));
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/k-signer`);
  });

  it("reports when and where a key was last used", async () => {
    const creds = await userWithKey(iam, "k-lastused", doc([allow("iam:GetUser")]));
    const fresh = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }));
    expect(fresh.UserName).toBe("k-lastused");
    expect(fresh.AccessKeyLastUsed).toEqual({ ServiceName: "N/A", Region: "N/A" });
    await new IAMClient(s.configFor(creds)).send(new GetUserCommand({}));
    const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }));
    expect(used.AccessKeyLastUsed!.ServiceName).toBe("iam");
    expect(used.AccessKeyLastUsed!.Region).toBe("us-east-1");
    expect(used.AccessKeyLastUsed!.LastUsedDate).toBeInstanceOf(Date);
    await expectAwsError(iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: "AKIAAAAAAAAAAAAAAAAA" })), "NoSuchEntityException", 404);
  });

  it("lets an IAM user manage its own keys without naming itself", async () => {
    const creds = await userWithKey(iam, "k-self", doc([allow(["iam:ListAccessKeys", "iam:GetUser"], `arn:aws:iam::${ACCOUNT}:user/k-self`)]));
    const self = new IAMClient(s.configFor(creds));
    expect((await self.send(new GetUserCommand({}))).User!.UserName).toBe("k-self");
    const keys = await self.send(new ListAccessKeysCommand({}));
    expect(keys.AccessKeyMetadata!.map((k) => k.AccessKeyId)).toEqual([creds.accessKeyId]);
  });
});

describe("roles", () => {
  const trust = trustAccount();

  it("creates a role; documents come back URL-encoded (RFC 3986)", async () => {
    const r = await iam.send(new CreateRoleCommand({ RoleName: "r-basic", Path: "/svc/", AssumeRolePolicyDocument: trust, Description: "d", Tags: [{ Key: "k", Value: "v" }] }));
    expect(r.Role!.RoleId).toMatch(/^AROA[A-Z0-9]{17}$/);
    expect(r.Role!.Arn).toBe(`arn:aws:iam::${ACCOUNT}:role/svc/r-basic`);
    expect(r.Role!.AssumeRolePolicyDocument).not.toContain("{");
    expect(decodeURIComponent(r.Role!.AssumeRolePolicyDocument!)).toBe(trust);
    const g = await iam.send(new GetRoleCommand({ RoleName: "r-basic" }));
    expect(g.Role!.MaxSessionDuration).toBe(3600);
    expect(g.Role!.Description).toBe("d");
    expect(g.Role!.Tags).toEqual([{ Key: "k", Value: "v" }]);
    expect(g.Role!.RoleLastUsed).toEqual({});
    expect(g.Role!.AssumeRolePolicyDocument).toContain("sts%3AAssumeRole");
    const list = await iam.send(new ListRolesCommand({ PathPrefix: "/svc/" }));
    expect(list.Roles!.map((x) => x.RoleName)).toEqual(["r-basic"]);
  });

  it("refuses duplicates, missing roles and malformed trust policies", async () => {
    await iam.send(new CreateRoleCommand({ RoleName: "r-dup", AssumeRolePolicyDocument: trust }));
    await expectAwsError(
      iam.send(new CreateRoleCommand({ RoleName: "r-dup", AssumeRolePolicyDocument: trust })),
      "EntityAlreadyExistsException",
      409,
      "Role with name r-dup already exists.",
    );
    await expectAwsError(iam.send(new GetRoleCommand({ RoleName: "r-none" })), "NoSuchEntityException", 404, "The role with name r-none cannot be found.");
    await expectAwsError(iam.send(new CreateRoleCommand({ RoleName: "r-bad", AssumeRolePolicyDocument: "{not json" })), "MalformedPolicyDocumentException", 400);
    // A trust policy must name a principal.
    await expectAwsError(iam.send(new CreateRoleCommand({ RoleName: "r-bad", AssumeRolePolicyDocument: doc([allow("sts:AssumeRole")]) })), "MalformedPolicyDocumentException", 400);
    await expectAwsError(iam.send(new GetRoleCommand({ RoleName: "r-bad" })), "NoSuchEntityException", 404);
    await expectAwsError(
      iam.send(new CreateRoleCommand({ RoleName: "r-bad", AssumeRolePolicyDocument: trust, MaxSessionDuration: 100 })),
      "ValidationError",
      400,
      /Member must have value greater than or equal to 3600/,
    );
  });

  it("updates the trust policy, description and session duration", async () => {
    await iam.send(new CreateRoleCommand({ RoleName: "r-upd", AssumeRolePolicyDocument: trust }));
    const next = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "r-upd", PolicyDocument: next }));
    await iam.send(new UpdateRoleCommand({ RoleName: "r-upd", Description: "new", MaxSessionDuration: 7200 }));
    const r = (await iam.send(new GetRoleCommand({ RoleName: "r-upd" }))).Role!;
    expect(decodeURIComponent(r.AssumeRolePolicyDocument!)).toBe(next);
    expect(r.Description).toBe("new");
    expect(r.MaxSessionDuration).toBe(7200);
    await expectAwsError(iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "r-upd", PolicyDocument: "[]" })), "MalformedPolicyDocumentException", 400);
  });

  it("tags and untags roles", async () => {
    await iam.send(new CreateRoleCommand({ RoleName: "r-tags", AssumeRolePolicyDocument: trust }));
    await iam.send(
      new TagRoleCommand({
        RoleName: "r-tags",
        Tags: [
          { Key: "a", Value: "1" },
          { Key: "b", Value: "2" },
        ],
      }),
    );
    await iam.send(new UntagRoleCommand({ RoleName: "r-tags", TagKeys: ["a"] }));
    expect((await iam.send(new ListRoleTagsCommand({ RoleName: "r-tags" }))).Tags).toEqual([{ Key: "b", Value: "2" }]);
  });

  it("deletes a role only after its policies are gone", async () => {
    await iam.send(new CreateRoleCommand({ RoleName: "r-del", AssumeRolePolicyDocument: trust }));
    await iam.send(new PutRolePolicyCommand({ RoleName: "r-del", PolicyName: "p", PolicyDocument: POLICY }));
    await expectAwsError(iam.send(new DeleteRoleCommand({ RoleName: "r-del" })), "DeleteConflictException", 409, "Cannot delete entity, must delete policies first.");
    await iam.send(new DeleteRolePolicyCommand({ RoleName: "r-del", PolicyName: "p" }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: "r-del", PolicyArn: ADMIN }));
    await expectAwsError(iam.send(new DeleteRoleCommand({ RoleName: "r-del" })), "DeleteConflictException", 409, "Cannot delete entity, must detach all policies first.");
    await iam.send(new DetachRolePolicyCommand({ RoleName: "r-del", PolicyArn: ADMIN }));
    await iam.send(new DeleteRoleCommand({ RoleName: "r-del" }));
    await expectAwsError(iam.send(new GetRoleCommand({ RoleName: "r-del" })), "NoSuchEntityException", 404);
  });
});

describe("groups", () => {
  it("creates groups, manages members and refuses to delete a non-empty group", async () => {
    const g = await iam.send(new CreateGroupCommand({ GroupName: "g-devs", Path: "/teams/" }));
    expect(g.Group!.GroupId).toMatch(/^AGPA[A-Z0-9]{17}$/);
    expect(g.Group!.Arn).toBe(`arn:aws:iam::${ACCOUNT}:group/teams/g-devs`);
    await expectAwsError(iam.send(new CreateGroupCommand({ GroupName: "g-devs" })), "EntityAlreadyExistsException", 409, "Group with name g-devs already exists.");
    await expectAwsError(iam.send(new GetGroupCommand({ GroupName: "g-none" })), "NoSuchEntityException", 404, "The group with name g-none cannot be found.");
    await iam.send(new CreateUserCommand({ UserName: "g-member" }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "g-devs", UserName: "g-member" }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "g-devs", UserName: "g-member" }));
    const got = await iam.send(new GetGroupCommand({ GroupName: "g-devs" }));
    expect(got.Users!.map((u) => u.UserName)).toEqual(["g-member"]);
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: "g-member" }))).Groups!.map((x) => x.GroupName)).toEqual(["g-devs"]);
    expect((await iam.send(new ListGroupsCommand({ PathPrefix: "/teams/" }))).Groups!.map((x) => x.GroupName)).toEqual(["g-devs"]);
    await expectAwsError(iam.send(new DeleteGroupCommand({ GroupName: "g-devs" })), "DeleteConflictException", 409, "Cannot delete entity, must remove users from group first.");
    await expectAwsError(
      iam.send(new DeleteUserCommand({ UserName: "g-member" })),
      "DeleteConflictException",
      409,
      "Cannot delete entity, must remove user from all groups first.",
    );
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: "g-devs", UserName: "g-member" }));
    await expectAwsError(iam.send(new RemoveUserFromGroupCommand({ GroupName: "g-devs", UserName: "g-member" })), "NoSuchEntityException", 404);
    await iam.send(new PutGroupPolicyCommand({ GroupName: "g-devs", PolicyName: "p", PolicyDocument: POLICY }));
    await expectAwsError(iam.send(new DeleteGroupCommand({ GroupName: "g-devs" })), "DeleteConflictException", 409, "Cannot delete entity, must delete policies first.");
    await iam.send(new DeleteGroupPolicyCommand({ GroupName: "g-devs", PolicyName: "p" }));
    await iam.send(new DeleteGroupCommand({ GroupName: "g-devs" }));
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: "g-member" }))).Groups).toEqual([]);
  });
});

describe("inline policies", () => {
  const document = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }, null, 2);

  it.each([
    ["User", "i-user"],
    ["Role", "i-role"],
    ["Group", "i-group"],
  ])("puts, gets (URL-encoded), lists and deletes %s policies", async (kind, name) => {
    if (kind === "User") await iam.send(new CreateUserCommand({ UserName: name }));
    if (kind === "Role") await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustAccount() }));
    if (kind === "Group") await iam.send(new CreateGroupCommand({ GroupName: name }));
    const key = { [`${kind}Name`]: name };
    type Cmd = new (input: never) => Parameters<IAMClient["send"]>[0];
    const put = { User: PutUserPolicyCommand, Role: PutRolePolicyCommand, Group: PutGroupPolicyCommand }[kind] as unknown as Cmd;
    const get = { User: GetUserPolicyCommand, Role: GetRolePolicyCommand, Group: GetGroupPolicyCommand }[kind] as unknown as Cmd;
    const list = { User: ListUserPoliciesCommand, Role: ListRolePoliciesCommand, Group: ListGroupPoliciesCommand }[kind] as unknown as Cmd;
    const del = { User: DeleteUserPolicyCommand, Role: DeleteRolePolicyCommand, Group: DeleteGroupPolicyCommand }[kind] as unknown as Cmd;
    await iam.send(new put({ ...key, PolicyName: "b-pol", PolicyDocument: document } as never));
    await iam.send(new put({ ...key, PolicyName: "a-pol", PolicyDocument: POLICY } as never));
    const got = (await iam.send(new get({ ...key, PolicyName: "b-pol" } as never))) as { PolicyDocument: string; PolicyName: string };
    expect(got.PolicyName).toBe("b-pol");
    // Exactly AWS's encoding: every reserved character, including * and whitespace.
    expect(got.PolicyDocument).toBe(
      "%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20%22Statement%22%3A%20%5B%0A%20%20%20%20%7B%0A%20%20%20%20%20%20%22Effect%22%3A%20%22Allow%22%2C%0A%20%20%20%20%20%20%22Action%22%3A%20%22s3%3A%2A%22%2C%0A%20%20%20%20%20%20%22Resource%22%3A%20%22%2A%22%0A%20%20%20%20%7D%0A%20%20%5D%0A%7D",
    );
    expect(decodeURIComponent(got.PolicyDocument)).toBe(document);
    expect(((await iam.send(new list(key as never))) as { PolicyNames: string[] }).PolicyNames).toEqual(["a-pol", "b-pol"]);
    await expectAwsError(
      iam.send(new get({ ...key, PolicyName: "zzz" } as never)),
      "NoSuchEntityException",
      404,
      `The ${kind.toLowerCase()} policy with name zzz cannot be found.`,
    );
    await expectAwsError(iam.send(new put({ ...key, PolicyName: "bad", PolicyDocument: '{"Version":"2012-10-17"}' } as never)), "MalformedPolicyDocumentException", 400);
    await iam.send(new del({ ...key, PolicyName: "b-pol" } as never));
    await iam.send(new del({ ...key, PolicyName: "a-pol" } as never));
    expect(((await iam.send(new list(key as never))) as { PolicyNames: string[] }).PolicyNames).toEqual([]);
    await expectAwsError(iam.send(new del({ ...key, PolicyName: "a-pol" } as never)), "NoSuchEntityException", 404);
  });

  it("refuses a user's inline policies past 2048 characters in total (whitespace not counted)", async () => {
    await iam.send(new CreateUserCommand({ UserName: "i-big" }));
    const big = doc([allow(Array.from({ length: 200 }, (_, n) => `s3:Action${n}`))]);
    expect(big.length).toBeGreaterThan(2048);
    await expectAwsError(
      iam.send(new PutUserPolicyCommand({ UserName: "i-big", PolicyName: "big", PolicyDocument: big })),
      "LimitExceededException",
      409,
      "Maximum policy size of 2048 bytes exceeded for user i-big",
    );
  });
});

describe("managed policies", () => {
  it("creates, versions (at most five), sets the default and deletes versions", async () => {
    const c = await iam.send(new CreatePolicyCommand({ PolicyName: "m-ver", Path: "/app/", PolicyDocument: POLICY, Description: "desc" }));
    const arn = c.Policy!.Arn!;
    expect(arn).toBe(`arn:aws:iam::${ACCOUNT}:policy/app/m-ver`);
    expect(c.Policy!.PolicyId).toMatch(/^ANPA[A-Z0-9]{17}$/);
    expect(c.Policy!.DefaultVersionId).toBe("v1");
    expect(c.Policy!.AttachmentCount).toBe(0);
    await expectAwsError(
      iam.send(new CreatePolicyCommand({ PolicyName: "m-ver", PolicyDocument: POLICY })),
      "EntityAlreadyExistsException",
      409,
      "A policy called m-ver already exists. Duplicate names are not allowed.",
    );
    for (let n = 2; n <= 5; n++) {
      const v = await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc([allow(`iam:Get${n}`)]), SetAsDefault: n === 3 }));
      expect(v.PolicyVersion!.VersionId).toBe(`v${n}`);
    }
    await expectAwsError(
      iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: POLICY })),
      "LimitExceededException",
      409,
      "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
    );
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.DefaultVersionId).toBe("v3");
    const versions = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
    expect(versions.Versions!.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ["v5", false],
      ["v4", false],
      ["v3", true],
      ["v2", false],
      ["v1", false],
    ]);
    const v3 = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v3" }));
    expect(decodeURIComponent(v3.PolicyVersion!.Document!)).toBe(doc([allow("iam:Get3")]));
    await expectAwsError(
      iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: "v3" })),
      "DeleteConflictException",
      409,
      "Cannot delete the default version of a policy.",
    );
    await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: "v1" }));
    await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: "v5" }));
    const v6 = await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: POLICY }));
    expect(v6.PolicyVersion!.VersionId).toBe("v6");
    await expectAwsError(
      iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: "v1" })),
      "NoSuchEntityException",
      404,
      `Policy ${arn} version v1 does not exist or is not attachable.`,
    );
    for (const v of ["v2", "v3", "v4", "v6"]) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v }));
    await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
    await expectAwsError(iam.send(new GetPolicyCommand({ PolicyArn: arn })), "NoSuchEntityException", 404, `Policy ${arn} was not found.`);
  });

  it("refuses malformed documents and oversized policies", async () => {
    await expectAwsError(
      iam.send(new CreatePolicyCommand({ PolicyName: "m-bad", PolicyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}' })),
      "MalformedPolicyDocumentException",
      400,
    );
    const big = doc([allow(Array.from({ length: 500 }, (_, n) => `s3:Action${n}`))]);
    expect(big.length).toBeGreaterThan(6144);
    await expectAwsError(
      iam.send(new CreatePolicyCommand({ PolicyName: "m-big", PolicyDocument: big })),
      "LimitExceededException",
      409,
      "Cannot exceed quota for PolicySize: 6144",
    );
  });

  it("attaches to users, groups and roles; counts and lists the entities", async () => {
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: "m-att", PolicyDocument: POLICY }))).Policy!.Arn!;
    await iam.send(new CreateUserCommand({ UserName: "m-user" }));
    await iam.send(new CreateGroupCommand({ GroupName: "m-group" }));
    await iam.send(new CreateRoleCommand({ RoleName: "m-role", AssumeRolePolicyDocument: trustAccount() }));
    await iam.send(new AttachUserPolicyCommand({ UserName: "m-user", PolicyArn: arn }));
    await iam.send(new AttachUserPolicyCommand({ UserName: "m-user", PolicyArn: arn }));
    await iam.send(new AttachGroupPolicyCommand({ GroupName: "m-group", PolicyArn: arn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: "m-role", PolicyArn: arn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: "m-role", PolicyArn: ADMIN }));
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.AttachmentCount).toBe(3);
    expect((await iam.send(new ListAttachedUserPoliciesCommand({ UserName: "m-user" }))).AttachedPolicies).toEqual([{ PolicyName: "m-att", PolicyArn: arn }]);
    expect((await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: "m-group" }))).AttachedPolicies).toEqual([{ PolicyName: "m-att", PolicyArn: arn }]);
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "m-role" }))).AttachedPolicies!.map((p) => p.PolicyName)).toEqual(["m-att", "AdministratorAccess"]);
    const p1 = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "m-role", MaxItems: 1 }));
    const p2 = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: "m-role", MaxItems: 1, Marker: p1.Marker }));
    expect([p1.AttachedPolicies![0].PolicyName, p2.AttachedPolicies![0].PolicyName, p2.IsTruncated]).toEqual(["m-att", "AdministratorAccess", false]);
    const ents = await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn }));
    expect(ents.PolicyUsers!.map((u) => u.UserName)).toEqual(["m-user"]);
    expect(ents.PolicyGroups!.map((g) => g.GroupName)).toEqual(["m-group"]);
    expect(ents.PolicyRoles!.map((r) => r.RoleName)).toEqual(["m-role"]);
    expect((await iam.send(new ListEntitiesForPolicyCommand({ PolicyArn: arn, EntityFilter: "Role" }))).PolicyUsers).toEqual([]);
    await expectAwsError(iam.send(new DeletePolicyCommand({ PolicyArn: arn })), "DeleteConflictException", 409, "Cannot delete a policy attached to entities.");
    const local = await iam.send(new ListPoliciesCommand({ Scope: "Local", OnlyAttached: true }));
    expect(local.Policies!.map((p) => p.PolicyName)).toContain("m-att");
    expect(local.Policies!.every((p) => p.Arn!.startsWith(`arn:aws:iam::${ACCOUNT}:`))).toBe(true);
    const aws = await iam.send(new ListPoliciesCommand({ Scope: "AWS" }));
    expect(aws.Policies!.map((p) => p.Arn)).toContain(ADMIN);
    await iam.send(new DetachUserPolicyCommand({ UserName: "m-user", PolicyArn: arn }));
    await expectAwsError(iam.send(new DetachUserPolicyCommand({ UserName: "m-user", PolicyArn: arn })), "NoSuchEntityException", 404, `Policy ${arn} was not found.`);
    await iam.send(new DetachGroupPolicyCommand({ GroupName: "m-group", PolicyArn: arn }));
    await iam.send(new DetachRolePolicyCommand({ RoleName: "m-role", PolicyArn: arn }));
    await iam.send(new DeletePolicyCommand({ PolicyArn: arn }));
  });

  it("refuses to attach a policy that does not exist", async () => {
    await iam.send(new CreateUserCommand({ UserName: "m-missing" }));
    const missing = `arn:aws:iam::${ACCOUNT}:policy/nope`;
    await expectAwsError(
      iam.send(new AttachUserPolicyCommand({ UserName: "m-missing", PolicyArn: missing })),
      "NoSuchEntityException",
      404,
      `Policy ${missing} does not exist or is not attachable.`,
    );
    await expectAwsError(iam.send(new AttachUserPolicyCommand({ UserName: "m-missing", PolicyArn: "arn:aws:iam::aws:policy/NoSuchAwsPolicy" })), "NoSuchEntityException", 404);
  });

  it("pages ListPolicies", async () => {
    for (let n = 0; n < 4; n++) await iam.send(new CreatePolicyCommand({ PolicyName: `m-page-${n}`, Path: "/paging/", PolicyDocument: POLICY }));
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const r = await iam.send(new ListPoliciesCommand({ Scope: "Local", PathPrefix: "/paging/", MaxItems: 3, Marker: marker }));
      seen.push(...r.Policies!.map((p) => p.PolicyName!));
      marker = r.IsTruncated ? r.Marker : undefined;
    } while (marker);
    expect(seen).toEqual(["m-page-0", "m-page-1", "m-page-2", "m-page-3"]);
  });
});

describe("permissions boundaries", () => {
  it("puts and deletes boundaries on users and roles", async () => {
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: "b-policy", PolicyDocument: POLICY }))).Policy!.Arn!;
    await iam.send(new CreateUserCommand({ UserName: "b-user" }));
    await iam.send(new PutUserPermissionsBoundaryCommand({ UserName: "b-user", PermissionsBoundary: arn }));
    expect((await iam.send(new GetUserCommand({ UserName: "b-user" }))).User!.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: "PermissionsBoundaryPolicy",
      PermissionsBoundaryArn: arn,
    });
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!.PermissionsBoundaryUsageCount).toBe(1);
    await expectAwsError(iam.send(new DeletePolicyCommand({ PolicyArn: arn })), "DeleteConflictException", 409);
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: "b-user" }));
    expect((await iam.send(new GetUserCommand({ UserName: "b-user" }))).User!.PermissionsBoundary).toBeUndefined();

    await iam.send(new CreateRoleCommand({ RoleName: "b-role", AssumeRolePolicyDocument: trustAccount(), PermissionsBoundary: arn }));
    expect((await iam.send(new GetRoleCommand({ RoleName: "b-role" }))).Role!.PermissionsBoundary!.PermissionsBoundaryArn).toBe(arn);
    await iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: "b-role" }));
    await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: "b-role", PermissionsBoundary: ADMIN }));
    expect((await iam.send(new GetRoleCommand({ RoleName: "b-role" }))).Role!.PermissionsBoundary!.PermissionsBoundaryArn).toBe(ADMIN);
    await expectAwsError(
      iam.send(new PutUserPermissionsBoundaryCommand({ UserName: "b-user", PermissionsBoundary: `arn:aws:iam::${ACCOUNT}:policy/none` })),
      "NoSuchEntityException",
      404,
      `Policy arn:aws:iam::${ACCOUNT}:policy/none does not exist or is not attachable.`,
    );
  });
});

describe("authorization of an IAM user's requests", () => {
  const listUsersDenied = (user: string, why: string) =>
    `User: arn:aws:iam::${ACCOUNT}:user/${user} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::${ACCOUNT}:user/ ${why}`;

  it("denies without a policy, with AWS's AccessDenied message, then allows once a policy does", async () => {
    const creds = await userWithKey(iam, "alice");
    const alice = new IAMClient(s.configFor(creds));
    await expectAwsError(alice.send(new ListUsersCommand({})), "AccessDenied", 403, listUsersDenied("alice", "because no identity-based policy allows the iam:ListUsers action"));
    await iam.send(new PutUserPolicyCommand({ UserName: "alice", PolicyName: "list", PolicyDocument: doc([allow("iam:ListUsers", `arn:aws:iam::${ACCOUNT}:user/*`)]) }));
    const r = await alice.send(new ListUsersCommand({}));
    expect(r.Users!.some((u) => u.UserName === "alice")).toBe(true);
    // Only what the policy allows.
    await expectAwsError(
      alice.send(new ListRolesCommand({})),
      "AccessDenied",
      403,
      /iam:ListRoles on resource: arn:aws:iam::000000000000:role\/ because no identity-based policy allows/,
    );
  });

  it("an explicit deny (here from a group) wins over an allow", async () => {
    const creds = await userWithKey(iam, "carol", doc([allow("iam:*")]));
    const carol = new IAMClient(s.configFor(creds));
    await carol.send(new ListUsersCommand({}));
    await iam.send(new CreateGroupCommand({ GroupName: "no-list" }));
    await iam.send(new PutGroupPolicyCommand({ GroupName: "no-list", PolicyName: "deny", PolicyDocument: doc([deny("iam:ListUsers")]) }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "no-list", UserName: "carol" }));
    await expectAwsError(carol.send(new ListUsersCommand({})), "AccessDenied", 403, listUsersDenied("carol", "with an explicit deny in an identity-based policy"));
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: "no-list", UserName: "carol" }));
    await carol.send(new ListUsersCommand({}));
  });

  it("a permissions boundary limits what the identity policy allows", async () => {
    const creds = await userWithKey(iam, "dave");
    const dave = new IAMClient(s.configFor(creds));
    await iam.send(new AttachUserPolicyCommand({ UserName: "dave", PolicyArn: ADMIN }));
    await dave.send(new ListUsersCommand({}));
    const boundary = (await iam.send(new CreatePolicyCommand({ PolicyName: "only-get-user", PolicyDocument: doc([allow("iam:GetUser")]) }))).Policy!.Arn!;
    await iam.send(new PutUserPermissionsBoundaryCommand({ UserName: "dave", PermissionsBoundary: boundary }));
    await expectAwsError(dave.send(new ListUsersCommand({})), "AccessDenied", 403, listUsersDenied("dave", "because no permissions boundary allows the iam:ListUsers action"));
    expect((await dave.send(new GetUserCommand({}))).User!.UserName).toBe("dave");
    await iam.send(new DeleteUserPermissionsBoundaryCommand({ UserName: "dave" }));
    await dave.send(new ListUsersCommand({}));
  });

  it("managed policy versions take effect when they become the default", async () => {
    const creds = await userWithKey(iam, "erin");
    const erin = new IAMClient(s.configFor(creds));
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: "erin-p", PolicyDocument: doc([allow("iam:GetUser")]) }))).Policy!.Arn!;
    await iam.send(new AttachUserPolicyCommand({ UserName: "erin", PolicyArn: arn }));
    await expectAwsError(erin.send(new ListUsersCommand({})), "AccessDenied", 403);
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc([allow("iam:ListUsers")]), SetAsDefault: true }));
    await erin.send(new ListUsersCommand({}));
    await iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: "v1" }));
    await expectAwsError(erin.send(new ListUsersCommand({})), "AccessDenied", 403);
  });

  it("authorizes on the resource ARN and its tags", async () => {
    await iam.send(new CreateUserCommand({ UserName: "tagged-prod", Tags: [{ Key: "env", Value: "prod" }] }));
    await iam.send(new CreateUserCommand({ UserName: "tagged-dev", Tags: [{ Key: "env", Value: "dev" }] }));
    const creds = await userWithKey(iam, "frank", doc([allow("iam:GetUser", "*", { Condition: { StringEquals: { "aws:ResourceTag/env": "dev" } } })]));
    const frank = new IAMClient(s.configFor(creds));
    expect((await frank.send(new GetUserCommand({ UserName: "tagged-dev" }))).User!.UserName).toBe("tagged-dev");
    await expectAwsError(frank.send(new GetUserCommand({ UserName: "tagged-prod" })), "AccessDenied", 403, /iam:GetUser on resource: arn:aws:iam::000000000000:user\/tagged-prod/);
  });

  it("denies before revealing whether an entity exists", async () => {
    const creds = await userWithKey(iam, "gina");
    await expectAwsError(new IAMClient(s.configFor(creds)).send(new GetRoleCommand({ RoleName: "no-such-role" })), "AccessDenied", 403);
  });
});

describe("policy simulator", () => {
  it("SimulatePrincipalPolicy evaluates the user's, group's and boundary policies", async () => {
    await iam.send(new CreateUserCommand({ UserName: "sim-user" }));
    await iam.send(
      new PutUserPolicyCommand({ UserName: "sim-user", PolicyName: "allow-iam", PolicyDocument: doc([allow(["iam:ListUsers", "iam:ListRoles"]), deny("iam:DeleteUser")]) }),
    );
    const arn = `arn:aws:iam::${ACCOUNT}:user/sim-user`;
    const r = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: arn, ActionNames: ["iam:ListUsers", "iam:CreateUser", "iam:DeleteUser"] }));
    const byAction = Object.fromEntries(r.EvaluationResults!.map((e) => [e.EvalActionName, e]));
    expect(byAction["iam:ListUsers"].EvalDecision).toBe("allowed");
    expect(byAction["iam:ListUsers"].EvalResourceName).toBe("*");
    expect(byAction["iam:ListUsers"].MatchedStatements![0].SourcePolicyId).toBe("allow-iam");
    expect(byAction["iam:CreateUser"].EvalDecision).toBe("implicitDeny");
    expect(byAction["iam:CreateUser"].MatchedStatements).toEqual([]);
    expect(byAction["iam:DeleteUser"].EvalDecision).toBe("explicitDeny");
    expect(r.IsTruncated).toBe(false);

    await iam.send(new CreateGroupCommand({ GroupName: "sim-group" }));
    await iam.send(new PutGroupPolicyCommand({ GroupName: "sim-group", PolicyName: "group-allow", PolicyDocument: doc([allow("iam:CreateUser")]) }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "sim-group", UserName: "sim-user" }));
    const g = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: arn, ActionNames: ["iam:CreateUser"] }));
    expect(g.EvaluationResults![0].EvalDecision).toBe("allowed");

    const b = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: arn,
        ActionNames: ["iam:ListUsers", "iam:ListRoles"],
        PermissionsBoundaryPolicyInputList: [doc([allow("iam:ListUsers")])],
      }),
    );
    expect(b.EvaluationResults!.map((e) => [e.EvalActionName, e.EvalDecision])).toEqual([
      ["iam:ListUsers", "allowed"],
      ["iam:ListRoles", "implicitDeny"],
    ]);
    await expectAwsError(
      iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/nobody`, ActionNames: ["iam:ListUsers"] })),
      "NoSuchEntityException",
      404,
    );
  });

  it("SimulateCustomPolicy honours ContextEntries and resources", async () => {
    const policy = doc([allow("s3:GetObject", "arn:aws:s3:::bucket/*", { Condition: { StringEquals: { "aws:PrincipalTag/team": "red" } } })]);
    const run = (team: string | undefined, resource = "arn:aws:s3:::bucket/key") =>
      iam.send(
        new SimulateCustomPolicyCommand({
          PolicyInputList: [policy],
          ActionNames: ["s3:GetObject"],
          ResourceArns: [resource],
          ContextEntries: team ? [{ ContextKeyName: "aws:PrincipalTag/team", ContextKeyType: "string", ContextKeyValues: [team] }] : undefined,
        }),
      );
    const ok = await run("red");
    expect(ok.EvaluationResults![0].EvalDecision).toBe("allowed");
    expect(ok.EvaluationResults![0].EvalResourceName).toBe("arn:aws:s3:::bucket/key");
    expect(ok.EvaluationResults![0].MatchedStatements![0].SourcePolicyId).toBe("PolicyInputList.1");
    expect((await run("blue")).EvaluationResults![0].EvalDecision).toBe("implicitDeny");
    const missing = await run(undefined);
    expect(missing.EvaluationResults![0].EvalDecision).toBe("implicitDeny");
    expect(missing.EvaluationResults![0].MissingContextValues).toEqual(["aws:PrincipalTag/team"]);
    expect((await run("red", "arn:aws:s3:::other/key")).EvaluationResults![0].EvalDecision).toBe("implicitDeny");
    await expectAwsError(iam.send(new SimulateCustomPolicyCommand({ PolicyInputList: ["{oops"], ActionNames: ["s3:GetObject"] })), "InvalidInputException", 400);
  });

  it("GetContextKeysForPrincipalPolicy lists the condition keys a principal's policies use", async () => {
    await iam.send(new CreateUserCommand({ UserName: "ctx-user" }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "ctx-user",
        PolicyName: "c",
        PolicyDocument: doc([allow("s3:*", "*", { Condition: { StringEquals: { "aws:RequestedRegion": "eu-west-1" }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } })]),
      }),
    );
    const r = await iam.send(
      new GetContextKeysForPrincipalPolicyCommand({
        PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/ctx-user`,
        PolicyInputList: [doc([allow("kms:Decrypt", "*", { Condition: { StringEquals: { "kms:ViaService": "ecs.us-east-1.amazonaws.com" } } })])],
      }),
    );
    expect([...r.ContextKeyNames!].sort()).toEqual(["aws:RequestedRegion", "aws:SourceIp", "kms:ViaService"]);
  });
});

describe("another account's policy ARN", () => {
  it("is refused to the other account's root and administrator, and attaches nowhere", async () => {
    const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: "p-owned", PolicyDocument: POLICY }))).Policy!.Arn!;
    const root = new IAMClient(s.configFor({ accessKeyId: "222222222222", secretAccessKey: "test" }));
    await root.send(new CreateUserCommand({ UserName: "intruder" }));
    await root.send(new AttachUserPolicyCommand({ UserName: "intruder", PolicyArn: ADMIN }));
    const k = (await root.send(new CreateAccessKeyCommand({ UserName: "intruder" }))).AccessKey!;
    const admin = new IAMClient(s.configFor({ accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! }));
    for (const [who, c] of [
      ["arn:aws:iam::222222222222:root", root],
      ["arn:aws:iam::222222222222:user/intruder", admin],
    ] as const) {
      await expectAwsError(
        c.send(new GetPolicyCommand({ PolicyArn: arn })),
        "AccessDenied",
        403,
        `User: ${who} is not authorized to perform: iam:GetPolicy on resource: ${arn} because no resource-based policy allows the iam:GetPolicy action`,
      );
      await expectAwsError(c.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc([allow("*", "*")]), SetAsDefault: true })), "AccessDenied", 403);
      await expectAwsError(c.send(new DeletePolicyCommand({ PolicyArn: arn })), "AccessDenied", 403);
      await expectAwsError(
        c.send(new AttachUserPolicyCommand({ UserName: "intruder", PolicyArn: arn })),
        "NoSuchEntityException",
        404,
        `Policy ${arn} does not exist or is not attachable.`,
      );
    }
    const p = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
    expect([p.DefaultVersionId, p.AttachmentCount]).toEqual(["v1", 0]);
  });
});

describe("the wire", () => {
  const form = { "content-type": "application/x-www-form-urlencoded; charset=utf-8" };

  it("sends IAM's error codes (the SDK names them ...Exception) in an ErrorResponse", async () => {
    const res = await signedFetch(s.url, "iam", "Action=GetUser&Version=2010-05-08&UserName=nobody", form);
    expect(res.status).toBe(404);
    const xml = await res.text();
    expect(xml).toContain("<Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name nobody cannot be found.</Message>");
    expect(xml).toContain('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">');
    await iam.send(new CreateUserCommand({ UserName: "wire-dup" }));
    const dup = await signedFetch(s.url, "iam", "Action=CreateUser&Version=2010-05-08&UserName=wire-dup", form);
    expect(dup.status).toBe(409);
    expect(await dup.text()).toContain("<Code>EntityAlreadyExists</Code>");
  });

  it("answers in IAM's XML with the policy document URL-encoded", async () => {
    await iam.send(new CreateUserCommand({ UserName: "wire-doc" }));
    await iam.send(new PutUserPolicyCommand({ UserName: "wire-doc", PolicyName: "p", PolicyDocument: POLICY }));
    const res = await signedFetch(s.url, "iam", "Action=GetUserPolicy&Version=2010-05-08&UserName=wire-doc&PolicyName=p", form);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toMatch(/^<GetUserPolicyResponse xmlns="https:\/\/iam.amazonaws.com\/doc\/2010-05-08\/"><GetUserPolicyResult>/);
    expect(xml).toContain(
      "<PolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3AGet%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D</PolicyDocument>",
    );
  });
});

describe("GetUser without a user name", () => {
  it("answers with the root identity when the account root asks", async () => {
    const r = await iam.send(new GetUserCommand({}));
    expect(r.User!.Arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect(r.User!.UserId).toBe(ACCOUNT);
  });
});

describe("persistence across a restart", () => {
  it("keeps users, groups, roles, policies and keys; keys still sign; sessions survive", async () => {
    const first = await startTestServer();
    let second: TestServer | undefined;
    try {
      const admin = new IAMClient(first.config);
      const creds = await userWithKey(admin, "persist", doc([allow(["iam:GetUser", "sts:AssumeRole"])]));
      await admin.send(new TagUserCommand({ UserName: "persist", Tags: [{ Key: "k", Value: "v" }] }));
      await admin.send(new CreateGroupCommand({ GroupName: "persist-g" }));
      await admin.send(new AddUserToGroupCommand({ GroupName: "persist-g", UserName: "persist" }));
      const pol = (await admin.send(new CreatePolicyCommand({ PolicyName: "persist-p", PolicyDocument: POLICY }))).Policy!.Arn!;
      await admin.send(new CreatePolicyVersionCommand({ PolicyArn: pol, PolicyDocument: doc([allow("iam:ListUsers")]), SetAsDefault: true }));
      await admin.send(new AttachGroupPolicyCommand({ GroupName: "persist-g", PolicyArn: pol }));
      await admin.send(new CreateRoleCommand({ RoleName: "persist-r", AssumeRolePolicyDocument: trustAccount(), MaxSessionDuration: 7200 }));
      await admin.send(new PutRolePolicyCommand({ RoleName: "persist-r", PolicyName: "inline", PolicyDocument: doc([allow("iam:GetRole")]) }));
      const assumed = await new STSClient(first.configFor(creds)).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/persist-r`, RoleSessionName: "s1" }));
      const userId = (await admin.send(new GetUserCommand({ UserName: "persist" }))).User!.UserId;
      await first.stop();

      second = await startTestServer({ dataDir: first.dataDir });
      const admin2 = new IAMClient(second.config);
      const u = (await admin2.send(new GetUserCommand({ UserName: "persist" }))).User!;
      expect(u.UserId).toBe(userId);
      expect(u.Tags).toEqual([{ Key: "k", Value: "v" }]);
      expect((await admin2.send(new ListGroupsForUserCommand({ UserName: "persist" }))).Groups!.map((g) => g.GroupName)).toEqual(["persist-g"]);
      expect((await admin2.send(new GetPolicyCommand({ PolicyArn: pol }))).Policy!.DefaultVersionId).toBe("v2");
      expect((await admin2.send(new GetRoleCommand({ RoleName: "persist-r" }))).Role!.MaxSessionDuration).toBe(7200);
      expect((await admin2.send(new ListRolePoliciesCommand({ RoleName: "persist-r" }))).PolicyNames).toEqual(["inline"]);
      // The key still signs, and its policies (inline + group's managed v2) still apply.
      const user2 = new IAMClient(second.configFor(creds));
      expect((await user2.send(new GetUserCommand({}))).User!.UserName).toBe("persist");
      await user2.send(new ListUsersCommand({}));
      expect((await new STSClient(second.configFor(creds)).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/persist`);
      // The role session too.
      const session = { accessKeyId: assumed.Credentials!.AccessKeyId!, secretAccessKey: assumed.Credentials!.SecretAccessKey!, sessionToken: assumed.Credentials!.SessionToken! };
      expect((await new STSClient(second.configFor(session)).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/persist-r/s1`);
      expect((await new IAMClient(second.configFor(session)).send(new GetRoleCommand({ RoleName: "persist-r" }))).Role!.RoleName).toBe("persist-r");
    } finally {
      if (second) await second.close();
      else await first.close();
    }
  });
});
