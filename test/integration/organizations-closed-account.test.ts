/**
 * A closed account is closed: once CloseAccount closes it, every credential of the account (its
 * root, its IAM users, sessions of its roles issued before the closure) is refused as AWS no
 * longer recognizes it, its OrganizationAccountAccessRole can no longer be assumed, its tasks
 * stop, and after the 90-day post-closure period it leaves the organization, still closed; a
 * restart keeps all of it. docs/organizations.md#closing-an-account.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListUsersCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import { NETWORK, registerSleeper, running, waitFor, waitTask } from "./ecs-helpers.ts";
import { allow, doc, expectAwsError, type Creds } from "./iam-helpers.ts";
import { createMemberAccount, intoMember, orgAdmin } from "./organizations-helpers.ts";

const DAY = 86_400;
const INVALID_TOKEN = "The security token included in the request is invalid.";

let servers: TestServer[] = [];
afterEach(async () => {
  // the last one first: a restart's servers share one data dir, which the first close deletes
  for (const s of servers.reverse()) await s.close();
  servers = [];
});

async function server(dataDir?: string): Promise<TestServer> {
  const s = await startTestServer(dataDir ? { dataDir } : {});
  servers.push(s);
  return s;
}

/** An organization with two member accounts and, in the one to be closed, an IAM user with a key. */
async function organization(s: TestServer) {
  const org = new ORG.OrganizationsClient(s.config);
  await org.send(new ORG.CreateOrganizationCommand({}));
  const admin = await orgAdmin(s);
  const closing = await createMemberAccount(org, "retired", "retired@example.com");
  const staying = await createMemberAccount(org, "workloads", "workloads@example.com");
  const session = await intoMember(s, admin, closing);
  const iam = new IAMClient(s.configFor(session));
  await iam.send(new CreateUserCommand({ UserName: "deployer" }));
  await iam.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "all", PolicyDocument: doc([allow("*")]) }));
  const k = (await iam.send(new CreateAccessKeyCommand({ UserName: "deployer" }))).AccessKey!;
  const user: Creds = { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! };
  const root: Creds = { accessKeyId: closing, secretAccessKey: "test" };
  return { org, admin, closing, staying, session, user, root };
}

/** Every way into the closed account is refused as unrecognized credentials, in the Query, the JSON and S3's protocol. */
async function expectLockedOut(s: TestServer, who: Creds[]): Promise<void> {
  for (const c of who) {
    await expectAwsError(new STSClient(s.configFor(c)).send(new GetCallerIdentityCommand({})), "InvalidClientTokenId", 403, INVALID_TOKEN);
    await expectAwsError(new KMSClient(s.configFor(c)).send(new CreateKeyCommand({})), "UnrecognizedClientException", 400, INVALID_TOKEN);
    await expectAwsError(new IAMClient(s.configFor(c)).send(new ListUsersCommand({})), "InvalidClientTokenId", 403, INVALID_TOKEN);
    await expectAwsError(new S3Client({ ...s.configFor(c), forcePathStyle: true }).send(new ListBucketsCommand({})), "InvalidAccessKeyId", 403);
  }
}

const assumeInto = (s: TestServer, admin: Creds, account: string) =>
  new STSClient(s.configFor(admin)).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`, RoleSessionName: "ops" }));

describe("a closed account", () => {
  it("refuses its root, its IAM users and its sessions issued before the closure", async () => {
    const s = await server();
    const { org, admin, closing, staying, session, user, root } = await organization(s);
    // before the closure every one of them works
    for (const c of [session, user, root]) {
      expect((await new STSClient(s.configFor(c)).send(new GetCallerIdentityCommand({}))).Account).toBe(closing);
    }
    await org.send(new ORG.CloseAccountCommand({ AccountId: closing }));

    await expectLockedOut(s, [session, user, root]);
    // the management account and the other member keep working
    expect((await new STSClient(s.config).send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
    const other = await intoMember(s, admin, staying);
    expect((await new STSClient(s.configFor(other)).send(new GetCallerIdentityCommand({}))).Account).toBe(staying);
  });

  it("cannot be assumed into from the management account; the refusal is in the management account's CloudTrail", async () => {
    const s = await server();
    const { org, admin, closing } = await organization(s);
    await org.send(new ORG.CloseAccountCommand({ AccountId: closing }));
    const role = `arn:aws:iam::${closing}:role/OrganizationAccountAccessRole`;
    await expectAwsError(
      assumeInto(s, admin, closing),
      "AccessDenied",
      403,
      `User: arn:aws:iam::000000000000:user/org-admin is not authorized to perform: sts:AssumeRole on resource: ${role}`,
    );
    const ct = new CloudTrailClient(s.config);
    const refused = await waitFor("the refused AssumeRole in CloudTrail", async () =>
      (await lookupAll(ct, "EventName", "AssumeRole")).map(recordOf).find((r) => r.errorCode === "AccessDenied"),
    );
    expect(refused.requestParameters?.roleArn).toBe(role);
  });

  it("is listed SUSPENDED / CLOSED for 90 days, then leaves the organization and stays closed, across a restart", async () => {
    const first = await server();
    const { org, admin, closing, staying, session, user, root } = await organization(first);
    await org.send(new ORG.CloseAccountCommand({ AccountId: closing }));
    await first.stop();

    const s = await server(first.dataDir);
    const org2 = new ORG.OrganizationsClient(s.config);
    await expectLockedOut(s, [session, user, root]);
    await expectAwsError(assumeInto(s, admin, closing), "AccessDenied", 403);

    await s.advanceClock(90 * DAY - 60);
    expect((await org2.send(new ORG.DescribeAccountCommand({ AccountId: closing }))).Account).toMatchObject({ Status: "SUSPENDED", State: "CLOSED" });
    await s.advanceClock(60);
    const ids = (await org2.send(new ORG.ListAccountsCommand({}))).Accounts!.map((a) => a.Id);
    expect(ids.sort()).toEqual(["000000000000", staying].sort());
    await expectAwsError(org2.send(new ORG.DescribeAccountCommand({ AccountId: closing })), "AccountNotFoundException", 404);
    // closed permanently: its own credentials stay refused (the session has expired by now; the key and the root have not)
    await expectLockedOut(s, [user, root]);
    await s.stop();

    const again = await server(first.dataDir);
    expect((await new ORG.OrganizationsClient(again.config).send(new ORG.ListAccountsCommand({}))).Accounts!.map((a) => a.Id)).not.toContain(closing);
    await expectLockedOut(again, [user, root]);
  });

  it("stops its running tasks, and its services start no new ones", async () => {
    const s = await server();
    const { org, closing, session } = await organization(s);
    const ecs = new ECSClient(s.configFor(session, "us-west-2"));
    await ecs.send(new CreateClusterCommand({ clusterName: "retired" }));
    const td = await registerSleeper(ecs, "sleeper");
    const task = (await ecs.send(new RunTaskCommand({ cluster: "retired", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0];
    await ecs.send(new CreateServiceCommand({ cluster: "retired", serviceName: "web", taskDefinition: td, desiredCount: 1, launchType: "FARGATE", networkConfiguration: NETWORK }));
    await waitTask(ecs, "retired", task.taskArn!, running);
    const ecsState = s.app.get("ecs");
    const live = () => [...ecsState.tasks.values()].filter((t) => t.accountId === closing && t.task.lastStatus !== "STOPPED");
    await waitFor("the service's task", async () => live().length === 2);

    await org.send(new ORG.CloseAccountCommand({ AccountId: closing }));
    // nobody can ask the closed account's ECS any more: what ECS recorded is read in-process
    await waitFor("every task of the closed account STOPPED", async () => live().length === 0);
    const stoppedTask = ecsState.tasks.get(task.taskArn!)!.task;
    expect(stoppedTask).toMatchObject({ lastStatus: "STOPPED", stopCode: "TerminationNotice", stoppedReason: "Task stopped because its AWS account was closed" });
    // the service scheduler has run again (a clock advance runs ECS's due work) and started nothing
    await s.advanceClock(60);
    expect(live()).toEqual([]);
  });
});
