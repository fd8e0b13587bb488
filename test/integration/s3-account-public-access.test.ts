/**
 * The account-level Block Public Access (S3 Control GetPublicAccessBlock, PutPublicAccessBlock,
 * DeletePublicAccessBlock) as the SDKs send it (signed raw requests: there is no
 * @aws-sdk/client-s3-control here), and what it enforces on every bucket of the account through
 * @aws-sdk/client-s3 (docs/s3.md#account-level-block-public-access).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { IAMClient } from "@aws-sdk/client-iam";
import * as ORG from "@aws-sdk/client-organizations";
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetPublicAccessBlockCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../support/server.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import { allow, doc, userWithKey } from "./iam-helpers.ts";
import { s3Fails } from "./s3-helpers.ts";
import { accountBlockXml, errorOf, s3Control } from "./s3-control-helpers.ts";
import { createMemberAccount, intoMember, orgAdmin } from "./organizations-helpers.ts";

const ACCOUNT = "000000000000";
const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
const publicRead = (bucket: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }] });

let s: TestServer;
let s3: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
});
afterAll(async () => {
  await s?.close();
});

const control = (call: Parameters<typeof s3Control>[1]) => s3Control(s.url, call);

/** A bucket whose own Block Public Access is deleted and whose ACLs are enabled: only the account's settings apply. */
async function openBucket(name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await s3.send(new DeletePublicAccessBlockCommand({ Bucket: name }));
  await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: name, OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } }));
}

describe("GetPublicAccessBlock, PutPublicAccessBlock, DeletePublicAccessBlock (account)", () => {
  it("an account without a configuration answers NoSuchPublicAccessBlockConfiguration (404)", async () => {
    const r = await control({ method: "GET", accountId: ACCOUNT });
    expect(r.status).toBe(404);
    expect(errorOf(r.body)).toEqual({ code: "NoSuchPublicAccessBlockConfiguration", message: "The public access block configuration was not found" });
  });

  it("puts, reads back (S3 Control's namespace), deletes", async () => {
    const put = await control({ method: "PUT", accountId: ACCOUNT, body: accountBlockXml({ BlockPublicAcls: true, RestrictPublicBuckets: true }) });
    expect(put.status).toBe(200);
    const got = await control({ method: "GET", accountId: ACCOUNT });
    expect(got.status).toBe(200);
    expect(got.body).toContain('<PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">');
    expect(got.body).toContain(
      "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls><BlockPublicPolicy>false</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>",
    );
    const del = await control({ method: "DELETE", accountId: ACCOUNT });
    expect(del.status).toBe(204);
    expect((await control({ method: "GET", accountId: ACCOUNT })).status).toBe(404);
    // deleting what is not there is not an error
    expect((await control({ method: "DELETE", accountId: ACCOUNT })).status).toBe(204);
  });

  it("answers at the <account>.localhost host the SDKs and the CLI prefix to a custom endpoint", async () => {
    const port = new URL(s.url).port;
    const r = await control({ method: "GET", accountId: ACCOUNT, host: `${ACCOUNT}.localhost:${port}` });
    expect(r.status).toBe(404);
    expect(errorOf(r.body).code).toBe("NoSuchPublicAccessBlockConfiguration");
  });

  it("another account's id, a malformed one or none is AccessDenied, and nothing changes", async () => {
    // without the header, only an s3-control host says the request is S3 Control's (path-style it names a bucket `v20180820`)
    const controlHost = `s3-control.us-east-1.localhost:${new URL(s.url).port}`;
    for (const accountId of ["111111111111", "00000000000", "abc", null]) {
      for (const method of ["GET", "PUT", "DELETE"] as const) {
        const r = await control({ method, accountId, body: method === "PUT" ? accountBlockXml({ BlockPublicAcls: true }) : undefined, host: controlHost });
        expect(r.status, `${method} ${accountId}`).toBe(403);
        expect(errorOf(r.body)).toEqual({ code: "AccessDenied", message: "Access Denied" });
      }
    }
    expect((await control({ method: "GET", accountId: ACCOUNT })).status).toBe(404);
    // the second account has none either
    const other = { accessKeyId: "111111111111", secretAccessKey: "test" };
    expect((await control({ method: "GET", accountId: "111111111111", credentials: other })).status).toBe(404);
  });

  it("a body that is not a PublicAccessBlockConfiguration is MalformedXML; other S3 Control paths are NotImplemented", async () => {
    for (const body of ["", "not xml", "<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>", "<Other/>"]) {
      const r = await control({ method: "PUT", accountId: ACCOUNT, body });
      expect(r.status, body).toBe(400);
      expect(errorOf(r.body).code).toBe("MalformedXML");
    }
    expect((await control({ method: "GET", accountId: ACCOUNT })).status).toBe(404);
    const other = await control({ method: "GET", accountId: ACCOUNT, path: "/v20180820/accesspoint" });
    expect(other.status).toBe(501);
    expect(errorOf(other.body).code).toBe("NotImplemented");
    expect((await control({ method: "POST", accountId: ACCOUNT })).status).toBe(405);
  });

  it("needs s3:GetAccountPublicAccessBlock (Get) and s3:PutAccountPublicAccessBlock (Put, Delete) on *", async () => {
    const iam = new IAMClient(s.config);
    const none = await userWithKey(iam, "pab-none", doc([allow("s3:GetBucketPublicAccessBlock")]));
    const reader = await userWithKey(iam, "pab-reader", doc([allow("s3:GetAccountPublicAccessBlock")]));
    const writer = await userWithKey(iam, "pab-writer", doc([allow("s3:PutAccountPublicAccessBlock")]));
    const body = accountBlockXml(ALL_ON);
    for (const method of ["GET", "PUT", "DELETE"] as const) {
      expect((await control({ method, accountId: ACCOUNT, credentials: none, body: method === "PUT" ? body : undefined })).status).toBe(403);
    }
    expect((await control({ method: "PUT", accountId: ACCOUNT, credentials: reader, body })).status).toBe(403);
    expect((await control({ method: "GET", accountId: ACCOUNT, credentials: writer })).status).toBe(403);
    expect((await control({ method: "PUT", accountId: ACCOUNT, credentials: writer, body })).status).toBe(200);
    expect((await control({ method: "GET", accountId: ACCOUNT, credentials: reader })).status).toBe(200);
    expect((await control({ method: "DELETE", accountId: ACCOUNT, credentials: reader })).status).toBe(403);
    expect((await control({ method: "DELETE", accountId: ACCOUNT, credentials: writer })).status).toBe(204);
  });

  it("CloudTrail records GetAccountPublicAccessBlock, PutAccountPublicAccessBlock and DeleteAccountPublicAccessBlock from s3.amazonaws.com", async () => {
    await control({ method: "PUT", accountId: ACCOUNT, body: accountBlockXml({ BlockPublicPolicy: true }) });
    await control({ method: "GET", accountId: ACCOUNT });
    await control({ method: "DELETE", accountId: ACCOUNT });
    await control({ method: "GET", accountId: "111111111111" });
    const ct = new CloudTrailClient(s.config);
    const events = (await lookupAll(ct, "EventSource", "s3.amazonaws.com")).map(recordOf);
    const named = (n: string) => events.filter((e) => e.eventName === n);
    const put = named("PutAccountPublicAccessBlock")[0];
    expect(put).toMatchObject({ eventSource: "s3.amazonaws.com", readOnly: false, managementEvent: true, recipientAccountId: ACCOUNT });
    expect(put.requestParameters).toMatchObject({ accountId: ACCOUNT, PublicAccessBlockConfiguration: { BlockPublicPolicy: true, BlockPublicAcls: false } });
    expect(named("DeleteAccountPublicAccessBlock")[0]).toMatchObject({ readOnly: false });
    const gets = named("GetAccountPublicAccessBlock");
    expect(gets.some((e) => e.readOnly === true && e.errorCode === undefined)).toBe(true);
    expect(gets.some((e) => e.errorCode === "AccessDenied")).toBe(true);
  });
});

describe("a guardrail SCP", () => {
  it("denying s3:PutAccountPublicAccessBlock keeps a member account from lowering its block", async () => {
    const admin = await orgAdmin(s);
    const org = new ORG.OrganizationsClient(s.configFor(admin));
    await org.send(new ORG.CreateOrganizationCommand({ FeatureSet: "ALL" }));
    const member = await createMemberAccount(org, "guarded", "guarded@example.com");
    const rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" }));
    const inMember = await intoMember(s, admin, member);
    expect((await control({ method: "PUT", accountId: member, credentials: inMember, body: accountBlockXml(ALL_ON) })).status).toBe(200);
    const guard = doc([{ Effect: "Deny", Action: "s3:PutAccountPublicAccessBlock", Resource: "*" }]);
    const policy = (await org.send(new ORG.CreatePolicyCommand({ Name: "keep-the-floor", Description: "d", Type: "SERVICE_CONTROL_POLICY", Content: guard }))).Policy!;
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: policy.PolicySummary!.Id, TargetId: member }));
    for (const method of ["PUT", "DELETE"] as const) {
      const r = await control({ method, accountId: member, credentials: inMember, body: method === "PUT" ? accountBlockXml({}) : undefined });
      expect(r.status, method).toBe(403);
      expect(errorOf(r.body).code).toBe("AccessDenied");
    }
    const got = await control({ method: "GET", accountId: member, credentials: inMember });
    expect(got.body).toContain("<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy>");
  });
});

describe("the account's settings apply to every bucket it owns (the OR of the account's and the bucket's)", () => {
  it("BlockPublicPolicy: a public bucket policy is refused while the account blocks it", async () => {
    await openBucket("acct-policy");
    await control({ method: "PUT", accountId: ACCOUNT, body: accountBlockXml({ BlockPublicPolicy: true }) });
    try {
      const f = await s3Fails(s3.send(new PutBucketPolicyCommand({ Bucket: "acct-policy", Policy: publicRead("acct-policy") })), "AccessDenied", 403);
      expect(f.message).toContain("because public policies are blocked by the BlockPublicPolicy block public access setting");
    } finally {
      await control({ method: "DELETE", accountId: ACCOUNT });
    }
    await s3.send(new PutBucketPolicyCommand({ Bucket: "acct-policy", Policy: publicRead("acct-policy") }));
  });

  it("BlockPublicAcls: a public ACL on a bucket or an object is refused while the account blocks it", async () => {
    await openBucket("acct-acl");
    await control({ method: "PUT", accountId: ACCOUNT, body: accountBlockXml({ BlockPublicAcls: true }) });
    try {
      await s3Fails(s3.send(new PutBucketAclCommand({ Bucket: "acct-acl", ACL: "public-read" })), "AccessDenied", 403);
      await s3Fails(s3.send(new PutObjectCommand({ Bucket: "acct-acl", Key: "k", Body: "x", ACL: "public-read" })), "AccessDenied", 403);
    } finally {
      await control({ method: "DELETE", accountId: ACCOUNT });
    }
    await s3.send(new PutBucketAclCommand({ Bucket: "acct-acl", ACL: "public-read" }));
  });

  it("RestrictPublicBuckets: a public policy grants the anonymous caller nothing while the account restricts it", async () => {
    await openBucket("acct-restrict");
    await s3.send(new PutBucketPolicyCommand({ Bucket: "acct-restrict", Policy: publicRead("acct-restrict") }));
    await s3.send(new PutObjectCommand({ Bucket: "acct-restrict", Key: "page.html", Body: "hello" }));
    const anonymous = () => fetch(`${s.url}/acct-restrict/page.html`);
    expect((await anonymous()).status).toBe(200);
    await control({ method: "PUT", accountId: ACCOUNT, body: accountBlockXml({ RestrictPublicBuckets: true }) });
    try {
      const r = await anonymous();
      expect(r.status).toBe(403);
      expect(errorOf(await r.text()).code).toBe("AccessDenied");
    } finally {
      await control({ method: "DELETE", accountId: ACCOUNT });
    }
    expect((await anonymous()).status).toBe(200);
  });

  it("another account's settings do not apply; the bucket's own still do when the account's are off", async () => {
    const other = { accessKeyId: "111111111111", secretAccessKey: "test" };
    expect((await control({ method: "PUT", accountId: "111111111111", credentials: other, body: accountBlockXml(ALL_ON) })).status).toBe(200);
    await openBucket("acct-other-on");
    await s3.send(new PutBucketPolicyCommand({ Bucket: "acct-other-on", Policy: publicRead("acct-other-on") }));
    await s3.send(new CreateBucketCommand({ Bucket: "acct-own-block" }));
    await s3Fails(s3.send(new PutBucketPolicyCommand({ Bucket: "acct-own-block", Policy: publicRead("acct-own-block") })), "AccessDenied", 403);
    // the bucket-level read still reports the bucket's own settings
    const own = await s3.send(new GetPublicAccessBlockCommand({ Bucket: "acct-other-on" })).catch((e: Error) => e);
    expect((own as Error).name).toBe("NoSuchPublicAccessBlockConfiguration");
  });
});

describe("persistence", () => {
  it("keeps the account's configuration across a restart", async () => {
    const first = await startTestServer();
    try {
      const put = await s3Control(first.url, { method: "PUT", accountId: ACCOUNT, body: accountBlockXml({ IgnorePublicAcls: true, BlockPublicPolicy: true }) });
      expect(put.status).toBe(200);
      await first.stop();
      const again = await startTestServer({ dataDir: first.dataDir });
      try {
        const got = await s3Control(again.url, { method: "GET", accountId: ACCOUNT });
        expect(got.status).toBe(200);
        expect(got.body).toContain("<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy>");
        const s3b = new S3Client({ ...again.config, forcePathStyle: true });
        await openBucketWith(s3b, "after-restart");
        await s3Fails(s3b.send(new PutBucketPolicyCommand({ Bucket: "after-restart", Policy: publicRead("after-restart") })), "AccessDenied", 403);
      } finally {
        await again.close();
      }
    } finally {
      await first.close();
    }
  });
});

async function openBucketWith(client: S3Client, name: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: name }));
  await client.send(new DeletePublicAccessBlockCommand({ Bucket: name }));
}
