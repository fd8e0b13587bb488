/**
 * IAM service-specific credentials through @aws-sdk/client-iam (docs/iam-sts.md,
 * "Service-specific credentials"): CodeCommit/Keyspaces user names and passwords, Bedrock and
 * CloudWatch Logs API keys, the two-per-service quota, Reset/Update/Delete, DeleteUser's
 * conflict, the secret never listed nor logged nor stored in clear, and the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CreateServiceSpecificCredentialCommand,
  CreateUserCommand,
  DeleteServiceSpecificCredentialCommand,
  DeleteUserCommand,
  IAMClient,
  ListServiceSpecificCredentialsCommand,
  ResetServiceSpecificCredentialCommand,
  UpdateServiceSpecificCredentialCommand,
} from "@aws-sdk/client-iam";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { lookupAll } from "./cloudtrail-helpers.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let iam: IAMClient;
beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

const create = (UserName: string, ServiceName: string, CredentialAgeDays?: number) =>
  iam.send(new CreateServiceSpecificCredentialCommand({ UserName, ServiceName, CredentialAgeDays }));

/** Every file under the data dir, as text. */
function dataDirText(dir: string): string {
  return readdirSync(dir)
    .map((f) => join(dir, f))
    .map((p) => (statSync(p).isDirectory() ? dataDirText(p) : readFileSync(p).toString("latin1")))
    .join("\n");
}

describe("service-specific credentials", () => {
  it("creates a CodeCommit user name and password, shown once, listed without the password", async () => {
    await iam.send(new CreateUserCommand({ UserName: "dev" }));
    const c = (await create("dev", "codecommit.amazonaws.com")).ServiceSpecificCredential!;
    expect(c).toMatchObject({ UserName: "dev", ServiceName: "codecommit.amazonaws.com", ServiceUserName: `dev-at-${ACCOUNT}`, Status: "Active" });
    expect(c.ServiceSpecificCredentialId).toMatch(/^ACCA[A-Z0-9]{17}$/);
    expect(c.ServicePassword).toMatch(/^[A-Za-z0-9+/=]{44}$/);
    expect(c.CreateDate).toBeInstanceOf(Date);

    const listed = (await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "dev" }))).ServiceSpecificCredentials!;
    expect(listed).toEqual([
      {
        UserName: "dev",
        Status: "Active",
        ServiceUserName: `dev-at-${ACCOUNT}`,
        CreateDate: c.CreateDate,
        ServiceSpecificCredentialId: c.ServiceSpecificCredentialId,
        ServiceName: "codecommit.amazonaws.com",
      },
    ]);
    const events = await lookupAll(new CloudTrailClient(s.config), "EventName", "CreateServiceSpecificCredential");
    expect(events.length).toBe(1);
    expect(events[0].CloudTrailEvent).toContain(c.ServiceSpecificCredentialId);
    expect(events[0].CloudTrailEvent).not.toContain(c.ServicePassword);
    expect(dataDirText(s.dataDir)).not.toContain(c.ServicePassword);
  });

  it("allows two per user and service: LimitExceeded for a third, other services counted apart", async () => {
    await iam.send(new CreateUserCommand({ UserName: "quota" }));
    await create("quota", "cassandra.amazonaws.com");
    await create("quota", "cassandra.amazonaws.com");
    await expectAwsError(create("quota", "cassandra.amazonaws.com"), "LimitExceededException", 409, /ServiceSpecificCredentialsPerUserPerService: 2/);
    await create("quota", "codecommit.amazonaws.com");
    const byService = (await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "quota", ServiceName: "cassandra.amazonaws.com" }))).ServiceSpecificCredentials!;
    expect(byService.map((c) => c.ServiceName)).toEqual(["cassandra.amazonaws.com", "cassandra.amazonaws.com"]);
    expect((await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "quota" }))).ServiceSpecificCredentials).toHaveLength(3);
  });

  it("creates Bedrock API keys with an alias and secret, expiring after CredentialAgeDays", async () => {
    await iam.send(new CreateUserCommand({ UserName: "ml" }));
    const k = (await create("ml", "bedrock.amazonaws.com", 1)).ServiceSpecificCredential!;
    expect(k.ServiceCredentialAlias).toMatch(new RegExp(`^ml\\+[a-z0-9]{4}-at-${ACCOUNT}$`));
    expect(k.ServiceCredentialSecret!.length).toBeGreaterThan(40);
    expect(k.ServicePassword).toBeUndefined();
    expect(k.ExpirationDate!.getTime() - k.CreateDate!.getTime()).toBe(86_400_000);
    await s.advanceClock(86_401);
    const [listed] = (await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "ml", ServiceName: "bedrock.amazonaws.com" }))).ServiceSpecificCredentials!;
    expect(listed).toMatchObject({ Status: "Expired", ServiceCredentialAlias: k.ServiceCredentialAlias });
    await expectAwsError(create("ml", "codecommit.amazonaws.com", 30), "InvalidInputException", 400);
  });

  it("resets the password, deactivates, deletes; DeleteUser conflicts while one exists", async () => {
    await iam.send(new CreateUserCommand({ UserName: "cycle" }));
    const c = (await create("cycle", "codecommit.amazonaws.com")).ServiceSpecificCredential!;
    const id = c.ServiceSpecificCredentialId!;
    const reset = (await iam.send(new ResetServiceSpecificCredentialCommand({ UserName: "cycle", ServiceSpecificCredentialId: id }))).ServiceSpecificCredential!;
    expect(reset.ServicePassword).toMatch(/^[A-Za-z0-9+/=]{44}$/);
    expect(reset.ServicePassword).not.toBe(c.ServicePassword);
    expect(reset.ServiceSpecificCredentialId).toBe(id);
    await iam.send(new UpdateServiceSpecificCredentialCommand({ UserName: "cycle", ServiceSpecificCredentialId: id, Status: "Inactive" }));
    expect((await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "cycle" }))).ServiceSpecificCredentials![0].Status).toBe("Inactive");
    await expectAwsError(
      iam.send(new UpdateServiceSpecificCredentialCommand({ UserName: "cycle", ServiceSpecificCredentialId: id, Status: "Expired" })),
      "InvalidInputException",
      400,
    );
    await expectAwsError(
      iam.send(new DeleteUserCommand({ UserName: "cycle" })),
      "DeleteConflictException",
      409,
      "Cannot delete entity, must delete service specific credentials first.",
    );
    await iam.send(new DeleteServiceSpecificCredentialCommand({ UserName: "cycle", ServiceSpecificCredentialId: id }));
    expect((await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "cycle" }))).ServiceSpecificCredentials).toEqual([]);
    await iam.send(new DeleteUserCommand({ UserName: "cycle" }));
  });

  it("acts on the calling user when UserName is omitted, and lists every user's with AllUsers", async () => {
    const creds = await userWithKey(iam, "self", doc([allow("iam:*ServiceSpecificCredential*", `arn:aws:iam::${ACCOUNT}:user/self`)]));
    const own = new IAMClient(s.configFor(creds));
    const c = (await create("self", "codecommit.amazonaws.com")).ServiceSpecificCredential!;
    expect((await own.send(new ListServiceSpecificCredentialsCommand({}))).ServiceSpecificCredentials!.map((x) => x.ServiceSpecificCredentialId)).toEqual([
      c.ServiceSpecificCredentialId,
    ]);
    await own.send(new UpdateServiceSpecificCredentialCommand({ ServiceSpecificCredentialId: c.ServiceSpecificCredentialId, Status: "Inactive" }));
    // another user's credential is not found by id, nor may the user list all users'
    const other = (await create("dev", "cassandra.amazonaws.com")).ServiceSpecificCredential!;
    await expectAwsError(own.send(new DeleteServiceSpecificCredentialCommand({ ServiceSpecificCredentialId: other.ServiceSpecificCredentialId })), "NoSuchEntityException", 404);
    await expectAwsError(own.send(new ListServiceSpecificCredentialsCommand({ AllUsers: true })), "AccessDenied", 403);
    const all = (await iam.send(new ListServiceSpecificCredentialsCommand({ AllUsers: true, ServiceName: "cassandra.amazonaws.com" }))).ServiceSpecificCredentials!;
    expect(new Set(all.map((x) => x.UserName))).toEqual(new Set(["quota", "dev"]));
    // the account root holds none of its own
    expect((await iam.send(new ListServiceSpecificCredentialsCommand({}))).ServiceSpecificCredentials).toEqual([]);
  });

  it("keeps credentials across a restart, the password still sealed", async () => {
    const r = await startTestServer();
    try {
      const before = new IAMClient(r.config);
      await before.send(new CreateUserCommand({ UserName: "durable" }));
      const c = (await before.send(new CreateServiceSpecificCredentialCommand({ UserName: "durable", ServiceName: "codecommit.amazonaws.com" }))).ServiceSpecificCredential!;
      await r.stop();
      const again = await startTestServer({ dataDir: r.dataDir });
      try {
        const after = new IAMClient(again.config);
        const [listed] = (await after.send(new ListServiceSpecificCredentialsCommand({ UserName: "durable" }))).ServiceSpecificCredentials!;
        expect(listed).toMatchObject({ ServiceSpecificCredentialId: c.ServiceSpecificCredentialId, ServiceUserName: c.ServiceUserName, Status: "Active" });
        await expectAwsError(after.send(new DeleteUserCommand({ UserName: "durable" })), "DeleteConflictException", 409);
        expect(dataDirText(again.dataDir)).not.toContain(c.ServicePassword);
      } finally {
        await again.close();
      }
    } finally {
      await r.close();
    }
  });

  it("refuses bad input", async () => {
    await expectAwsError(create("dev", "s3.amazonaws.com"), "ServiceNotSupportedException", 404, "No such service s3.amazonaws.com is supported for Service-Specific Credentials");
    await expectAwsError(iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "dev", ServiceName: "ec2.amazonaws.com" })), "ServiceNotSupportedException", 404);
    await expectAwsError(create("nobody", "codecommit.amazonaws.com"), "NoSuchEntityException", 404);
    await expectAwsError(create("dev", "codecommit.amazonaws.com", 0), "ValidationError", 400);
    await expectAwsError(iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "dev", AllUsers: true })), "InvalidInputException", 400);
    await expectAwsError(
      iam.send(new ResetServiceSpecificCredentialCommand({ UserName: "dev", ServiceSpecificCredentialId: "ACCAAAAAAAAAAAAAAAAAA" })),
      "NoSuchEntityException",
      404,
      "No such credential ACCAAAAAAAAAAAAAAAAAA exists",
    );
    await expectAwsError(iam.send(new DeleteServiceSpecificCredentialCommand({ UserName: "dev", ServiceSpecificCredentialId: "short" })), "ValidationError", 400);
    await expectAwsError(
      iam.send(new UpdateServiceSpecificCredentialCommand({ UserName: "dev", ServiceSpecificCredentialId: "ACCAAAAAAAAAAAAAAAAAA", Status: "Off" as never })),
      "ValidationError",
      400,
    );
  });
});
