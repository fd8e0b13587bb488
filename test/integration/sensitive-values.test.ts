/**
 * Secrets a caller sends (passwords, private keys) never come back in a validation message nor
 * reach CloudTrail's errorMessage, even when they break the member's pattern or length
 * (docs/iam-sts.md, validation messages).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangePasswordCommand, CreateLoginProfileCommand, CreateUserCommand, IAMClient, UploadServerCertificateCommand } from "@aws-sdk/client-iam";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { lookupAll } from "./cloudtrail-helpers.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let s: TestServer;
let iam: IAMClient;
beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
  await iam.send(new CreateUserCommand({ UserName: "alice" }));
});
afterAll(async () => {
  await s?.close();
});

const SECRET = "Sup3r-Secret-Marker";

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { name: string; message: string };
  }
  throw new Error("the call succeeded");
}

async function trailText(eventName: string): Promise<string> {
  const events = await lookupAll(new CloudTrailClient(s.config), "EventName", eventName);
  expect(events.length).toBeGreaterThan(0);
  return events.map((e) => e.CloudTrailEvent).join("\n");
}

describe("sensitive members in validation errors", () => {
  it("leaves a private key that breaks its pattern out of the message and the trail", async () => {
    const key = `-----BEGIN PRIVATE KEY-----\n${SECRET}\u20ac\n-----END PRIVATE KEY-----`;
    const e = await failure(
      iam.send(
        new UploadServerCertificateCommand({ ServerCertificateName: "c", CertificateBody: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----", PrivateKey: key }),
      ),
    );
    expect(e.name).toBe("ValidationError");
    expect(e.message).toContain("at 'privateKey' failed to satisfy constraint: Member must satisfy regular expression pattern");
    expect(e.message).not.toContain(SECRET);
    expect(await trailText("UploadServerCertificate")).not.toContain(SECRET);
  });

  it("leaves a too-long password out of the message and the trail", async () => {
    const password = SECRET + "x".repeat(200);
    const e = await failure(iam.send(new CreateLoginProfileCommand({ UserName: "alice", Password: password })));
    expect(e.name).toBe("ValidationError");
    expect(e.message).toContain("at 'password' failed to satisfy constraint: Member must have length less than or equal to 128");
    expect(e.message).not.toContain(SECRET);
    expect(await trailText("CreateLoginProfile")).not.toContain(SECRET);
  });

  it("leaves ChangePassword's passwords out of the message", async () => {
    const e = await failure(iam.send(new ChangePasswordCommand({ OldPassword: `${SECRET}\u20ac`, NewPassword: "" })));
    expect(e.name).toBe("ValidationError");
    expect(e.message).not.toContain(SECRET);
  });
});
