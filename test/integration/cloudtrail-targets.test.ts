/**
 * The trail a call names: authorized by the ARN it designates before the trail is looked up
 * (AccessDenied before TrailNotFound), named in the record of a refused or failed call, and
 * never stored again by a call that waited while another deleted it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddTagsCommand, CloudTrailClient, CreateTrailCommand, DeleteTrailCommand, GetTrailCommand } from "@aws-sdk/client-cloudtrail";
import { S3Client } from "@aws-sdk/client-s3";
import type { Principal } from "../../src/kernel/principal.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import type { LooseJson } from "../support/json.ts";
import { ACCOUNT, addTestPrincipals, createTrailBucket, lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let ct: CloudTrailClient;
let alice: CloudTrailClient;
const arn = (name: string) => `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/${name}`;
const root: Principal = { type: "Root", accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, principalId: ACCOUNT };

beforeAll(async () => {
  s = await startTestServer();
  ct = new CloudTrailClient(s.config);
  // alice has no policies: an IAM user without policies is denied everything
  alice = new CloudTrailClient(addTestPrincipals(s).user);
  await createTrailBucket(new S3Client({ ...s.config, forcePathStyle: true }), "targets-bucket");
});
afterAll(async () => {
  await s?.close();
});

async function failure(p: Promise<unknown>): Promise<{ name: string; $metadata: { requestId: string } }> {
  const e = await p.then(
    () => undefined,
    (x: { name: string; $metadata: { requestId: string } }) => x,
  );
  expect(e, "the call fails").toBeDefined();
  return e!;
}

async function recordOfRequest(requestId: string, eventName: string): Promise<LooseJson> {
  const hit = (await lookupAll(ct, "EventName", eventName)).map(recordOf).find((r) => r.requestID === requestId);
  expect(hit, `record of request ${requestId}`).toBeDefined();
  return hit!;
}

describe("a trail call without permission", () => {
  it.each([
    ["GetTrail of a missing trail", () => alice.send(new GetTrailCommand({ Name: "never-made" }))],
    ["GetTrail of a malformed name", () => alice.send(new GetTrailCommand({ Name: "ab" }))],
    ["DeleteTrail of a missing trail", () => alice.send(new DeleteTrailCommand({ Name: "never-made" }))],
    ["AddTags of a name rather than an ARN", () => alice.send(new AddTagsCommand({ ResourceId: "never-made", TagsList: [{ Key: "k", Value: "v" }] }))],
  ])("is refused before the trail is looked up: %s", async (_label, call) => {
    expect((await failure(call())).name).toBe("AccessDeniedException");
  });
});

describe("records of refused and failed trail calls", () => {
  it("name the trail the call designates", async () => {
    const missing = await failure(ct.send(new GetTrailCommand({ Name: "no-such-trail" })));
    expect(missing.name).toBe("TrailNotFoundException");
    const r = await recordOfRequest(missing.$metadata.requestId, "GetTrail");
    expect(r.resources).toEqual([{ ARN: arn("no-such-trail"), accountId: ACCOUNT, type: "AWS::CloudTrail::Trail" }]);

    const denied = await failure(alice.send(new DeleteTrailCommand({ Name: "denied-trail" })));
    expect(denied.name).toBe("AccessDeniedException");
    const d = await recordOfRequest(denied.$metadata.requestId, "DeleteTrail");
    expect(d.errorCode).toBe("AccessDeniedException");
    expect(d.resources).toEqual([{ ARN: arn("denied-trail"), accountId: ACCOUNT, type: "AWS::CloudTrail::Trail" }]);
  });
});

describe("a call that waits while another deletes the trail", () => {
  it("answers TrailNotFound and does not store the deleted trail again", async () => {
    await ct.send(new CreateTrailCommand({ Name: "raced", S3BucketName: "targets-bucket" }));
    // Both resolve the trail before either runs on: DeleteTrail goes first, UpdateTrail then
    // finds the trail it resolved deleted.
    const opts = { principal: root, region: "us-east-1" };
    const deleted = s.app.invoke("cloudtrail", "DeleteTrail", { Name: "raced" }, opts);
    const updated = s.app.invoke("cloudtrail", "UpdateTrail", { Name: "raced", S3KeyPrefix: "after-delete" }, opts);
    await deleted;
    await expect(updated).rejects.toMatchObject({ code: "TrailNotFoundException" });
    expect((await failure(ct.send(new GetTrailCommand({ Name: "raced" })))).name).toBe("TrailNotFoundException");
    expect(s.app.store.all<{ name: string }>("cloudtrail.trail").map((t) => t.name)).not.toContain("raced");
  });
});
