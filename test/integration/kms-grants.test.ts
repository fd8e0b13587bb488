/**
 * KMS grants through the real SDK: a principal with no policy rights uses a key only through a
 * grant, only within its constraints; retiring and revoking take the access away; grant
 * tokens, name idempotency, limits, listing, and CloudTrail.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  CreateGrantCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  DescribeKeyCommand,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, addPrincipal, createKey, deny, doc, expectKmsError, text, trailRecords, utf8, type TestPrincipal } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
let bob: TestPrincipal;
let carol: TestPrincipal;
let bobKms: KMSClient;
let carolKms: KMSClient;
beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
  // no identity policies: bob and carol can use keys only through grants
  bob = addPrincipal(s, "user", "bob");
  carol = addPrincipal(s, "user", "carol");
  bobKms = new KMSClient(bob.config);
  carolKms = new KMSClient(carol.config);
});
afterAll(async () => {
  await s.close();
});

describe("grants across Regions", () => {
  it("a grant is listed, and retired with its token, only in its key's Region", async () => {
    const key = await createKey(kms);
    const g = await kms.send(new CreateGrantCommand({ KeyId: key.Arn, GranteePrincipal: bob.arn, RetiringPrincipal: carol.arn, Operations: ["Decrypt"] }));
    const west = new KMSClient({ ...s.config, region: "us-west-2" });
    expect((await west.send(new ListRetirableGrantsCommand({ RetiringPrincipal: carol.arn }))).Grants).toEqual([]);
    expect((await kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: carol.arn }))).Grants!.map((x) => x.GrantId)).toContain(g.GrantId);
    await expectKmsError(west.send(new RetireGrantCommand({ GrantToken: g.GrantToken })), "NotFoundException");
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.Arn }))).Grants!.map((x) => x.GrantId)).toEqual([g.GrantId]);
  });
});

describe("grants authorize a principal with no policy rights", () => {
  let key: KeyMetadata;
  let grantId: string;
  beforeAll(async () => {
    key = await createKey(kms);
  });

  it("denies bob before the grant", async () => {
    await expectKmsError(
      bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext: { app: "payments" } })),
      "AccessDeniedException",
      `User: ${bob.arn} is not authorized to perform: kms:Encrypt on resource: ${key.Arn} because no identity-based policy allows the kms:Encrypt action`,
    );
  });

  it("creates a grant with a 64-hex id and a token, and lists it", async () => {
    const g = await kms.send(
      new CreateGrantCommand({
        KeyId: key.KeyId,
        GranteePrincipal: bob.arn,
        RetiringPrincipal: carol.arn,
        Operations: ["Encrypt", "Decrypt", "GenerateDataKey"],
        Constraints: { EncryptionContextSubset: { app: "payments" } },
        Name: "bob-payments",
      }),
    );
    expect(g.GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(g.GrantToken!.length).toBeGreaterThan(20);
    grantId = g.GrantId!;
    const list = await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }));
    expect(list.Grants).toHaveLength(1);
    expect(list.Grants![0]).toMatchObject({
      KeyId: key.Arn,
      GrantId: grantId,
      Name: "bob-payments",
      GranteePrincipal: bob.arn,
      RetiringPrincipal: carol.arn,
      IssuingAccount: `arn:aws:iam::${ACCOUNT}:root`,
      Operations: ["Encrypt", "Decrypt", "GenerateDataKey"],
      Constraints: { EncryptionContextSubset: { app: "payments" } },
    });
    expect(JSON.stringify(list)).not.toContain(g.GrantToken!);
    const rec = (await trailRecords(s, "CreateGrant")).find((r) => r.responseElements?.grantId === grantId)!;
    expect(rec.responseElements).toEqual({ grantId, keyId: key.Arn });
    expect(rec.requestParameters).toMatchObject({
      keyId: key.KeyId,
      granteePrincipal: bob.arn,
      retiringPrincipal: carol.arn,
      operations: ["Encrypt", "Decrypt", "GenerateDataKey"],
      constraints: { encryptionContextSubset: { app: "payments" } },
      name: "bob-payments",
    });
    expect(JSON.stringify(rec)).not.toContain(g.GrantToken!);
  });

  it("lets bob encrypt and decrypt only with the constrained context", async () => {
    const ok = await bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("granted"), EncryptionContext: { app: "payments", extra: "fine" } }));
    expect(text((await bobKms.send(new DecryptCommand({ CiphertextBlob: ok.CiphertextBlob, EncryptionContext: { app: "payments", extra: "fine" } }))).Plaintext)).toBe("granted");
    await bobKms.send(new GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256", EncryptionContext: { app: "payments" } }));
    const contexts: (Record<string, string> | undefined)[] = [undefined, { app: "billing" }, { App: "payments" }];
    for (const EncryptionContext of contexts) {
      await expectKmsError(bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext })), "AccessDeniedException");
    }
    // an operation the grant does not include
    await expectKmsError(bobKms.send(new DescribeKeyCommand({ KeyId: key.Arn })), "AccessDeniedException");
    // a ciphertext made by the owner without the context: the grant does not cover it
    const other = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("owner") }));
    await expectKmsError(bobKms.send(new DecryptCommand({ CiphertextBlob: other.CiphertextBlob })), "AccessDeniedException");
  });

  it("does not let bob retire a grant without the RetireGrant operation; carol (retiring principal) can", async () => {
    await expectKmsError(bobKms.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: grantId })), "AccessDeniedException");
    // ListRetirableGrants is authorized by IAM alone
    await expectKmsError(carolKms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: carol.arn })), "AccessDeniedException");
    carol.setPolicies([doc([{ Effect: "Allow", Action: "kms:ListRetirableGrants", Resource: "*" }])]);
    const retirable = await carolKms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: carol.arn }));
    expect(retirable.Grants?.map((g) => g.GrantId)).toContain(grantId);
    await carolKms.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: grantId }));
    await expectKmsError(bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext: { app: "payments" } })), "AccessDeniedException");
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);
    const rec = (await trailRecords(s, "RetireGrant")).find((r) => r.additionalEventData?.grantId === grantId)!;
    expect(rec.requestParameters).toBeNull();
    expect(rec.responseElements).toEqual({ keyId: key.Arn });
    expect(rec.userIdentity.arn).toBe(carol.arn);
  });
});

describe("grant constraints and lifecycle", () => {
  it("EncryptionContextEquals requires exactly the pairs", async () => {
    const key = await createKey(kms);
    await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"], Constraints: { EncryptionContextEquals: { a: "1" } } }));
    await bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext: { a: "1" } }));
    await expectKmsError(bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext: { a: "1", b: "2" } })), "AccessDeniedException");
    await expectKmsError(bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") })), "AccessDeniedException");
  });

  it("revoking takes access away; grants survive in every key state for retire/revoke", async () => {
    const key = await createKey(kms);
    const g = await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt", "RetireGrant"] }));
    await bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") }));
    await kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g.GrantId }));
    await expectKmsError(bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") })), "AccessDeniedException");
    await expectKmsError(kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: g.GrantId })), "NotFoundException");
    await expectKmsError(kms.send(new RevokeGrantCommand({ KeyId: key.KeyId, GrantId: "not-a-grant-id" })), "InvalidGrantIdException");
    // the grantee may retire a grant that includes RetireGrant, even while the key is pending deletion
    const g2 = await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt", "RetireGrant"] }));
    const g3 = await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"] }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    await expectKmsError(
      kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"] })),
      "KMSInvalidStateException",
      `${key.Arn} is pending deletion.`,
    );
    await bobKms.send(new RetireGrantCommand({ GrantToken: g2.GrantToken }));
    await kms.send(new RevokeGrantCommand({ KeyId: key.Arn, GrantId: g3.GrantId }));
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);
  });

  it("the account that created the grant may retire it", async () => {
    const key = await createKey(kms);
    const g = await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Decrypt"] }));
    await kms.send(new RetireGrantCommand({ KeyId: key.Arn, GrantId: g.GrantId }));
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);
  });

  it("refuses CreateGrant on a disabled key, and operations the key type does not support", async () => {
    const key = await createKey(kms);
    await expectKmsError(kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Sign"] })), "ValidationException");
    const signer = await createKey(kms, { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    await kms.send(new CreateGrantCommand({ KeyId: signer.KeyId, GranteePrincipal: bob.arn, Operations: ["Sign", "Verify", "GetPublicKey"] }));
    await expectKmsError(kms.send(new CreateGrantCommand({ KeyId: signer.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"] })), "ValidationException");
    await expectKmsError(
      kms.send(new CreateGrantCommand({ KeyId: signer.KeyId, GranteePrincipal: bob.arn, Operations: ["Sign"], Constraints: { EncryptionContextSubset: { a: "1" } } })),
      "ValidationException",
    );
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectKmsError(
      kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"] })),
      "DisabledException",
      `${key.Arn} is disabled.`,
    );
    await expectKmsError(kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: "not a principal", Operations: ["Encrypt"] })), "ValidationException");
  });

  it("returns the same grant id for the same name and parameters, with a new token", async () => {
    const key = await createKey(kms);
    const input = { KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt" as const, "Decrypt" as const], Name: "idem" };
    const a = await kms.send(new CreateGrantCommand(input));
    const b = await kms.send(new CreateGrantCommand({ ...input, Operations: ["Decrypt", "Encrypt"] }));
    expect(b.GrantId).toBe(a.GrantId);
    expect(b.GrantToken).not.toBe(a.GrantToken);
    const c = await kms.send(new CreateGrantCommand({ ...input, Operations: ["Encrypt"] }));
    expect(c.GrantId).not.toBe(a.GrantId);
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toHaveLength(2);
  });

  it("accepts grant tokens it issued and refuses others", async () => {
    const key = await createKey(kms);
    const g = await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"] }));
    await bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), GrantTokens: [g.GrantToken!] }));
    await expectKmsError(bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), GrantTokens: ["bogus-token"] })), "InvalidGrantTokenException");
    await expectKmsError(kms.send(new RetireGrantCommand({ GrantToken: "AAAA" })), "InvalidGrantTokenException");
  });

  it("DryRun creates nothing", async () => {
    const key = await createKey(kms);
    await expectKmsError(
      kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["Encrypt"], DryRun: true })),
      "DryRunOperationException",
      "The request would have succeeded, but the DryRun option is set.",
    );
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);
  });

  it("a grant for CreateGrant lets the grantee make grants no wider than its own", async () => {
    const key = await createKey(kms);
    await kms.send(
      new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: bob.arn, Operations: ["CreateGrant", "Decrypt"], Constraints: { EncryptionContextSubset: { tenant: "t1" } } }),
    );
    await bobKms.send(
      new CreateGrantCommand({ KeyId: key.Arn, GranteePrincipal: carol.arn, Operations: ["Decrypt"], Constraints: { EncryptionContextSubset: { tenant: "t1", job: "7" } } }),
    );
    await expectKmsError(bobKms.send(new CreateGrantCommand({ KeyId: key.Arn, GranteePrincipal: carol.arn, Operations: ["Decrypt"] })), "AccessDeniedException");
    await expectKmsError(
      bobKms.send(new CreateGrantCommand({ KeyId: key.Arn, GranteePrincipal: carol.arn, Operations: ["Encrypt"], Constraints: { EncryptionContextSubset: { tenant: "t1" } } })),
      "AccessDeniedException",
    );
    const blob = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("job data"), EncryptionContext: { tenant: "t1", job: "7" } }))).CiphertextBlob;
    expect(text((await carolKms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { tenant: "t1", job: "7" } }))).Plaintext)).toBe("job data");
  });

  it("an explicit deny in an IAM policy beats a grant", async () => {
    const dave = addPrincipal(s, "user", "dave", [doc([deny("kms:Decrypt")])]);
    const daveKms = new KMSClient(dave.config);
    const key = await createKey(kms);
    await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: dave.arn, Operations: ["Encrypt", "Decrypt"] }));
    const blob = (await daveKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") }))).CiphertextBlob;
    await expectKmsError(daveKms.send(new DecryptCommand({ CiphertextBlob: blob })), "AccessDeniedException", /explicit deny in an? identity-based policy/);
  });

  it("matches role sessions by their role ARN", async () => {
    const worker = addPrincipal(s, "role", "worker");
    const key = await createKey(kms);
    await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/worker`, Operations: ["Encrypt"] }));
    await new KMSClient(worker.config).send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") }));
  });
});

describe("listing and limits", () => {
  it("pages ListGrants and filters by grant id and grantee", async () => {
    const key = await createKey(kms);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await kms.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: i % 2 ? carol.arn : bob.arn, Operations: ["Encrypt"] }))).GrantId!);
    const seen: string[] = [];
    let Marker: string | undefined;
    do {
      const r = await kms.send(new ListGrantsCommand({ KeyId: key.KeyId, Limit: 2, Marker }));
      seen.push(...r.Grants!.map((g) => g.GrantId!));
      Marker = r.NextMarker;
    } while (Marker);
    expect(seen).toEqual(ids);
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId, GrantId: ids[3] }))).Grants?.map((g) => g.GrantId)).toEqual([ids[3]]);
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId, GranteePrincipal: carol.arn }))).Grants).toHaveLength(2);
  });

  it("enforces the grants-per-key quota", async () => {
    const small = await startTestServer({ kmsMaxGrantsPerKey: 3 });
    try {
      const k = new KMSClient(small.config);
      const key = await createKey(k);
      for (let i = 0; i < 3; i++) await k.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/u${i}`, Operations: ["Encrypt"] }));
      await expectKmsError(
        k.send(new CreateGrantCommand({ KeyId: key.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/u9`, Operations: ["Encrypt"] })),
        "LimitExceededException",
      );
    } finally {
      await small.close();
    }
  });
});
