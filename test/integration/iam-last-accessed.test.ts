/**
 * IAM service last accessed details through @aws-sdk/client-iam, from real activity: users and
 * role sessions call KMS, ECS, STS and IAM in several Regions, then Generate → poll → Get shows
 * per service when, by whom and from where it was last used (docs/iam-sts.md, "Service last
 * accessed details").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IAMClient,
  AddUserToGroupCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GenerateCredentialReportCommand,
  GenerateServiceLastAccessedDetailsCommand,
  GetAccessKeyLastUsedCommand,
  GetCredentialReportCommand,
  GetServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsWithEntitiesCommand,
  ListUsersCommand,
  PutGroupPolicyCommand,
  PutUserPolicyCommand,
  PutRolePolicyCommand,
  type GetServiceLastAccessedDetailsResponse,
  type GetServiceLastAccessedDetailsWithEntitiesResponse,
  type ServiceLastAccessed,
} from "@aws-sdk/client-iam";
import { KMSClient, CreateKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, doc, expectAwsError, trustAccount, userWithKey, type Creds } from "./iam-helpers.ts";

const OTHER = "111122223333";

let s: TestServer;
let iam: IAMClient;
let dev: Creds;
let devArn: string;
let roleArn: string;
let sessionCreds: Creds;
/** service clock readings around each call, to check the times reported */
const at: Record<string, { before: number; after: number }> = {};

async function serverNow(): Promise<number> {
  return Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
}

async function timed(name: string, call: () => Promise<unknown>): Promise<void> {
  const before = await serverNow();
  await call();
  at[name] = { before, after: await serverNow() };
}

function expectAt(d: Date | undefined, name: string): void {
  expect(d, name).toBeInstanceOf(Date);
  // event times are kept to the millisecond; allow the second the wire rounds to
  expect(d!.getTime()).toBeGreaterThanOrEqual(at[name].before - 1000);
  expect(d!.getTime()).toBeLessThanOrEqual(at[name].after + 1000);
}

/** Generates a report and polls until it is complete; every answer before is IN_PROGRESS. */
async function report(arn: string, granularity?: "SERVICE_LEVEL" | "ACTION_LEVEL", client = iam): Promise<{ jobId: string; out: GetServiceLastAccessedDetailsResponse }> {
  const { JobId } = await client.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn, Granularity: granularity }));
  expect(JobId).toMatch(/^[0-9a-f-]{36}$/);
  // a bound in wall-clock time, not tries: the job reads the event store, slower on a loaded host
  const end = performance.now() + 60_000;
  for (;;) {
    const out = await client.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
    if (out.JobStatus === "COMPLETED") return { jobId: JobId!, out };
    expect(out.JobStatus).toBe("IN_PROGRESS");
    expect(out.ServicesLastAccessed).toEqual([]);
    if (performance.now() > end) throw new Error("the job never completed");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const byNs = (list: ServiceLastAccessed[] | undefined) => Object.fromEntries((list ?? []).map((x) => [x.ServiceNamespace!, x]));

beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);

  // dev may use KMS, ECS, CloudWatch Logs (never does) and sts:GetCallerIdentity
  dev = await userWithKey(iam, "dev", doc([allow(["kms:*", "ecs:*", "logs:*", "sts:GetCallerIdentity"])]));
  devArn = `arn:aws:iam::${ACCOUNT}:user/dev`;
  await timed("dev-kms", () => new KMSClient(s.configFor(dev, "us-west-2")).send(new CreateKeyCommand({})));
  await s.advanceClock(3600);
  await timed("dev-ecs", () => new ECSClient(s.configFor(dev, "eu-west-1")).send(new ListClustersCommand({})));
  await timed("dev-sts", () => new STSClient(s.configFor(dev, "us-east-1")).send(new GetCallerIdentityCommand({})));

  // a role whose sessions use KMS in ap-southeast-2
  roleArn = (await iam.send(new CreateRoleCommand({ RoleName: "ops", AssumeRolePolicyDocument: trustAccount() }))).Role!.Arn!;
  await iam.send(new PutRolePolicyCommand({ RoleName: "ops", PolicyName: "kms", PolicyDocument: doc([allow("kms:*")]) }));
  const assumer = await userWithKey(iam, "assumer", doc([allow("sts:AssumeRole", roleArn)]));
  const assumed = await new STSClient(s.configFor(assumer)).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "nightly" }));
  sessionCreds = { accessKeyId: assumed.Credentials!.AccessKeyId!, secretAccessKey: assumed.Credentials!.SecretAccessKey!, sessionToken: assumed.Credentials!.SessionToken! };
  await s.advanceClock(60);
  await timed("role-kms", () => new KMSClient(s.configFor(sessionCreds, "ap-southeast-2")).send(new ListKeysCommand({})));
});
afterAll(async () => {
  await s?.close();
});

describe("GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails", () => {
  it("reports, for a user, each allowed service with when, by whom and from which Region it was last used", async () => {
    const created = await serverNow();
    const { out } = await report(devArn);
    expect(out.JobType).toBe("SERVICE_LEVEL");
    expect(out.JobCreationDate!.getTime()).toBeGreaterThanOrEqual(created - 1000);
    expect(out.JobCompletionDate!.getTime()).toBeGreaterThanOrEqual(out.JobCreationDate!.getTime());
    expect(out.IsTruncated).toBe(false);
    const services = byNs(out.ServicesLastAccessed);
    expect(Object.keys(services)).toEqual(["ecs", "kms", "logs", "sts"]);

    expect(services.kms.ServiceName).toBe("AWS Key Management Service");
    expectAt(services.kms.LastAuthenticated, "dev-kms");
    expect(services.kms.LastAuthenticatedRegion).toBe("us-west-2");
    expect(services.kms.LastAuthenticatedEntity).toBe(devArn);
    expect(services.kms.TotalAuthenticatedEntities).toBe(1);

    expectAt(services.ecs.LastAuthenticated, "dev-ecs");
    expect(services.ecs.LastAuthenticatedRegion).toBe("eu-west-1");
    expectAt(services.sts.LastAuthenticated, "dev-sts");
    expect(services.sts.LastAuthenticatedRegion).toBe("us-east-1");

    // allowed but never used: no time, entity or Region
    expect(services.logs.ServiceName).toBe("Amazon CloudWatch Logs");
    expect(services.logs.LastAuthenticated).toBeUndefined();
    expect(services.logs.LastAuthenticatedEntity).toBeUndefined();
    expect(services.logs.LastAuthenticatedRegion).toBeUndefined();
    expect(services.logs.TotalAuthenticatedEntities).toBeUndefined();
    expect(services.kms.TrackedActionsLastAccessed).toBeUndefined();
  });

  it("counts a role's sessions as the role's activity", async () => {
    const { out } = await report(roleArn);
    const services = byNs(out.ServicesLastAccessed);
    expect(Object.keys(services)).toEqual(["kms"]);
    expectAt(services.kms.LastAuthenticated, "role-kms");
    expect(services.kms.LastAuthenticatedEntity).toBe(roleArn);
    expect(services.kms.LastAuthenticatedRegion).toBe("ap-southeast-2");
  });

  it("reports a group from its members' activity, and lists the members with WithEntities", async () => {
    await iam.send(new CreateGroupCommand({ GroupName: "builders" }));
    await iam.send(new PutGroupPolicyCommand({ GroupName: "builders", PolicyName: "ecs", PolicyDocument: doc([allow("ecs:List*")]) }));
    await iam.send(new CreateUserCommand({ UserName: "idle" }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "builders", UserName: "dev" }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "builders", UserName: "idle" }));
    const groupArn = `arn:aws:iam::${ACCOUNT}:group/builders`;
    const { jobId, out } = await report(groupArn);
    const services = byNs(out.ServicesLastAccessed);
    expect(Object.keys(services)).toEqual(["ecs"]);
    expectAt(services.ecs.LastAuthenticated, "dev-ecs");
    expect(services.ecs.LastAuthenticatedEntity).toBe(devArn);

    const ent = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "ecs" }));
    expect(ent.JobStatus).toBe("COMPLETED");
    expect(ent.EntityDetailsList!.map((e) => [e.EntityInfo!.Name, e.EntityInfo!.Type, e.LastAuthenticated !== undefined])).toEqual([
      ["dev", "USER", true],
      ["idle", "USER", false],
    ]);
    expect(ent.EntityDetailsList![0].EntityInfo!.Arn).toBe(devArn);
    expect(ent.EntityDetailsList![0].EntityInfo!.Id).toMatch(/^AIDA/);
    expect(ent.EntityDetailsList![0].EntityInfo!.Path).toBe("/");
    expectAt(ent.EntityDetailsList![0].LastAuthenticated, "dev-ecs");

    // paging, one entity at a time
    const first = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "ecs", MaxItems: 1 }));
    expect(first.IsTruncated).toBe(true);
    const second: GetServiceLastAccessedDetailsWithEntitiesResponse = await iam.send(
      new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "ecs", MaxItems: 1, Marker: first.Marker }),
    );
    expect([first.EntityDetailsList![0].EntityInfo!.Name, second.EntityDetailsList![0].EntityInfo!.Name]).toEqual(["dev", "idle"]);
    expect(second.IsTruncated).toBe(false);

    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "kms" })), "InvalidInputException", 400);
  });

  it("reports a managed policy from every user and role it is attached to", async () => {
    const policyArn = (await iam.send(new CreatePolicyCommand({ PolicyName: "key-use", PolicyDocument: doc([allow("kms:ListKeys"), allow("kms:CreateKey")]) }))).Policy!.Arn!;
    await iam.send(new AttachUserPolicyCommand({ UserName: "dev", PolicyArn: policyArn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: "ops", PolicyArn: policyArn }));
    const { jobId, out } = await report(policyArn);
    const services = byNs(out.ServicesLastAccessed);
    expect(Object.keys(services)).toEqual(["kms"]);
    expect(services.kms.TotalAuthenticatedEntities).toBe(2);
    // the role's session used KMS after dev did
    expect(services.kms.LastAuthenticatedEntity).toBe(roleArn);
    expectAt(services.kms.LastAuthenticated, "role-kms");

    const ent = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "kms" }));
    const rows = Object.fromEntries(ent.EntityDetailsList!.map((e) => [e.EntityInfo!.Arn!, e]));
    expect(rows[roleArn].EntityInfo!.Type).toBe("ROLE");
    expectAt(rows[roleArn].LastAuthenticated, "role-kms");
    expectAt(rows[devArn].LastAuthenticated, "dev-kms");
  });

  it("reports a wildcard policy's services, and pages them with Marker/MaxItems", async () => {
    await iam.send(new CreateUserCommand({ UserName: "admin" }));
    await iam.send(new AttachUserPolicyCommand({ UserName: "admin", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
    const { jobId, out } = await report(`arn:aws:iam::${ACCOUNT}:user/admin`);
    const all = out.ServicesLastAccessed!.map((x) => x.ServiceNamespace!);
    expect(all).toEqual(["cloudtrail", "ecs", "iam", "kms", "logs", "organizations", "s3", "secretsmanager", "ssm", "sts"]);
    expect(out.ServicesLastAccessed!.every((x) => x.LastAuthenticated === undefined)).toBe(true);

    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: 4, Marker: marker }));
      expect(page.ServicesLastAccessed!.length).toBeLessThanOrEqual(4);
      seen.push(...page.ServicesLastAccessed!.map((x) => x.ServiceNamespace!));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    expect(seen).toEqual(all);
  });

  it("names a service this server does not have, and reads NotAction as every service it leaves in", async () => {
    await iam.send(new CreateUserCommand({ UserName: "ec2-reader" }));
    await iam.send(new PutUserPolicyCommand({ UserName: "ec2-reader", PolicyName: "p", PolicyDocument: doc([allow("ec2:Describe*")]) }));
    const ec2 = (await report(`arn:aws:iam::${ACCOUNT}:user/ec2-reader`)).out.ServicesLastAccessed!;
    expect(ec2).toEqual([{ ServiceName: "Amazon EC2", ServiceNamespace: "ec2" }]);

    await iam.send(new CreateUserCommand({ UserName: "not-iam" }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "not-iam",
        PolicyName: "p",
        PolicyDocument: doc([{ Effect: "Allow", NotAction: ["iam:*", "organizations:*", "kms:Decrypt"], Resource: "*" }]),
      }),
    );
    const rest = (await report(`arn:aws:iam::${ACCOUNT}:user/not-iam`)).out.ServicesLastAccessed!.map((x) => x.ServiceNamespace);
    expect(rest).toEqual(["cloudtrail", "ecs", "kms", "logs", "s3", "secretsmanager", "ssm", "sts"]);
  });

  it("ACTION_LEVEL lists IAM's tracked actions, each with its last use", async () => {
    const lister = await userWithKey(iam, "lister", doc([allow(["iam:ListUsers", "iam:ListRoles", "kms:ListKeys"])]));
    await timed("lister-list-users", () => new IAMClient(s.configFor(lister)).send(new ListUsersCommand({})));
    // a refused call is an attempt, and counts
    await timed("lister-create-key", () => expectAwsError(new KMSClient(s.configFor(lister)).send(new CreateKeyCommand({})), "AccessDeniedException", 400));
    const { out } = await report(`arn:aws:iam::${ACCOUNT}:user/lister`, "ACTION_LEVEL");
    expect(out.JobType).toBe("ACTION_LEVEL");
    const services = byNs(out.ServicesLastAccessed);
    const actions = Object.fromEntries(services.iam.TrackedActionsLastAccessed!.map((a) => [a.ActionName!, a]));
    expect(Object.keys(actions).sort()).toEqual(["ListRoles", "ListUsers"]);
    expectAt(actions.ListUsers.LastAccessedTime, "lister-list-users");
    expect(actions.ListUsers.LastAccessedRegion).toBe("us-east-1");
    expect(actions.ListUsers.LastAccessedEntity).toBe(`arn:aws:iam::${ACCOUNT}:user/lister`);
    expect(actions.ListRoles.LastAccessedTime).toBeUndefined();
    // KMS is not tracked at action level
    expect(services.kms.TrackedActionsLastAccessed).toBeUndefined();
    expectAt(services.kms.LastAuthenticated, "lister-create-key");
  });
});

describe("bad input", () => {
  it("refuses a malformed ARN, an entity that does not exist and another account's entity", async () => {
    await expectAwsError(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: "short" })), "ValidationError", 400);
    await expectAwsError(
      iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: "this-is-not-an-arn-at-all" })),
      "InvalidInputException",
      400,
      "ARN this-is-not-an-arn-at-all is not valid.",
    );
    await expectAwsError(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/abc` })), "InvalidInputException", 400);
    await expectAwsError(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${ACCOUNT}:user/nobody` })), "NoSuchEntityException", 404);
    await expectAwsError(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${ACCOUNT}:user/other-path/dev` })), "NoSuchEntityException", 404);
    await expectAwsError(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${ACCOUNT}:policy/nope` })), "NoSuchEntityException", 404);
    const other = new IAMClient(s.configFor({ accessKeyId: OTHER, secretAccessKey: "test" }));
    await expectAwsError(other.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: devArn })), "AccessDenied", 403);
    await expectAwsError(other.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: roleArn })), "AccessDenied", 403);
  });

  it("refuses a bad Granularity, an unknown JobId, another account's job, a bad MaxItems and a Marker it did not issue", async () => {
    await expectAwsError(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: devArn, Granularity: "EVERYTHING" as "ACTION_LEVEL" })), "ValidationError", 400);
    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: "00000000-0000-0000-0000-000000000000" })), "InvalidInputException", 400);
    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: "short" })), "ValidationError", 400);
    const { jobId } = await report(devArn);
    const other = new IAMClient(s.configFor({ accessKeyId: OTHER, secretAccessKey: "test" }));
    await expectAwsError(other.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId })), "InvalidInputException", 400);
    await expectAwsError(other.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "kms" })), "InvalidInputException", 400);
    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: 0 })), "ValidationError", 400);
    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, Marker: "forged" })), "InvalidInputException", 400);
    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: jobId, ServiceNamespace: "no such!" })), "ValidationError", 400);
  });

  it("keeps an account's newest 100 jobs", async () => {
    const first = (await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: roleArn }))).JobId!;
    const ids: string[] = [];
    for (let n = 0; n < 100; n++) ids.push((await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: roleArn }))).JobId!);
    await expectAwsError(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: first })), "InvalidInputException", 400, `Job with id ${first} does not exist.`);
    const { JobStatus } = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: ids[0] }));
    expect(["IN_PROGRESS", "COMPLETED"]).toContain(JobStatus);
  });

  it("is authorized as iam:GenerateServiceLastAccessedDetails on the entity", async () => {
    const limited = await userWithKey(iam, "limited", doc([allow("iam:GenerateServiceLastAccessedDetails", `arn:aws:iam::${ACCOUNT}:user/limited`)]));
    const client = new IAMClient(s.configFor(limited));
    await expectAwsError(client.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: devArn })), "AccessDenied", 403);
    const { JobId } = await client.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${ACCOUNT}:user/limited` }));
    await expectAwsError(client.send(new GetServiceLastAccessedDetailsCommand({ JobId })), "AccessDenied", 403);
  });
});

describe("access key last used, from every service", () => {
  it("shows a key's KMS call in GetAccessKeyLastUsed and the credential report", async () => {
    const creds = await userWithKey(iam, "kms-only", doc([allow("kms:ListKeys")]));
    await timed("kms-only", () => new KMSClient(s.configFor(creds, "us-west-2")).send(new ListKeysCommand({})));
    const last = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }))).AccessKeyLastUsed!;
    expect([last.ServiceName, last.Region]).toEqual(["kms", "us-west-2"]);
    expectAt(last.LastUsedDate, "kms-only");

    await iam.send(new GenerateCredentialReportCommand({}));
    const csv = new TextDecoder().decode((await iam.send(new GetCredentialReportCommand({}))).Content!);
    const [header, ...rows] = csv.split("\n").map((l) => l.split(","));
    const row = Object.fromEntries(header.map((h, n) => [h, rows.find((r) => r[0] === "kms-only")![n]]));
    expect([row.access_key_1_last_used_service, row.access_key_1_last_used_region]).toEqual(["kms", "us-west-2"]);
    expect(Date.parse(row.access_key_1_last_used_date)).toBe(Math.floor(last.LastUsedDate!.getTime() / 1000) * 1000);
  });
});

describe("access keys and GetSessionToken sessions", () => {
  it("credit the long-term key with its GetSessionToken call, not with what the session's temporary key signs", async () => {
    const creds = await userWithKey(iam, "session-maker", doc([allow(["sts:GetSessionToken", "kms:ListKeys"])]));
    const session = (await new STSClient(s.configFor(creds, "eu-west-1")).send(new GetSessionTokenCommand({}))).Credentials!;
    const afterToken = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }))).AccessKeyLastUsed!;
    expect([afterToken.ServiceName, afterToken.Region]).toEqual(["sts", "eu-west-1"]);
    await s.advanceClock(3600);
    const temp = { accessKeyId: session.AccessKeyId!, secretAccessKey: session.SecretAccessKey!, sessionToken: session.SessionToken! };
    await new KMSClient(s.configFor(temp, "us-west-2")).send(new ListKeysCommand({}));
    const later = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: creds.accessKeyId }))).AccessKeyLastUsed!;
    expect(later).toEqual(afterToken);

    // a report is regenerated only once the last one is four hours old
    await s.advanceClock(4 * 3600);
    await iam.send(new GenerateCredentialReportCommand({}));
    const csv = new TextDecoder().decode((await iam.send(new GetCredentialReportCommand({}))).Content!);
    const [header, ...rows] = csv.split("\n").map((l) => l.split(","));
    const row = Object.fromEntries(header.map((h, n) => [h, rows.find((r) => r[0] === "session-maker")![n]]));
    expect([row.access_key_1_last_used_service, row.access_key_1_last_used_region]).toEqual(["sts", "eu-west-1"]);
    expect(Date.parse(row.access_key_1_last_used_date)).toBe(Math.floor(afterToken.LastUsedDate!.getTime() / 1000) * 1000);
  });
});

describe("persistence", () => {
  it("keeps a job's report across a restart", async () => {
    const first = await startTestServer();
    try {
      const client = new IAMClient(first.config);
      const creds = await userWithKey(client, "keeper", doc([allow("kms:ListKeys")]));
      await new KMSClient(first.configFor(creds, "eu-central-1")).send(new ListKeysCommand({}));
      const { JobId } = await client.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `arn:aws:iam::${ACCOUNT}:user/keeper` }));
      let before: GetServiceLastAccessedDetailsResponse;
      do before = await client.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
      while (before.JobStatus !== "COMPLETED");
      await first.stop();
      const again = await startTestServer({ dataDir: first.dataDir });
      try {
        const after = await new IAMClient(again.config).send(new GetServiceLastAccessedDetailsCommand({ JobId }));
        expect(after.JobStatus).toBe("COMPLETED");
        expect(after.ServicesLastAccessed).toEqual(before.ServicesLastAccessed);
        expect(after.ServicesLastAccessed![0].LastAuthenticatedRegion).toBe("eu-central-1");
      } finally {
        await again.close();
      }
    } finally {
      await first.close();
    }
  });
});

describe("tracking period", () => {
  it("leaves out activity older than 400 days", async () => {
    await s.advanceClock(401 * 86400);
    const { out } = await report(devArn);
    const services = byNs(out.ServicesLastAccessed);
    expect(services.kms.LastAuthenticated).toBeUndefined();
    expect(services.ecs.LastAuthenticated).toBeUndefined();
  });
});
