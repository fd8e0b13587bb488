/** KMS aliases through the real SDK: naming rules, resolution, update, delete, list. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  EncryptCommand,
  DecryptCommand,
  KMSClient,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, REGION, createKey, expectKmsError, text, trailRecords, utf8 } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
});
afterAll(async () => {
  await s.close();
});

const aliasArn = (name: string, region = REGION) => `arn:aws:kms:${region}:${ACCOUNT}:${name}`;

describe("CreateAlias", () => {
  it("creates an alias by key id or key ARN and lists it", async () => {
    const k = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/app-one", TargetKeyId: k.KeyId }));
    await kms.send(new CreateAliasCommand({ AliasName: "alias/app/two", TargetKeyId: k.Arn }));
    const list = await kms.send(new ListAliasesCommand({ KeyId: k.KeyId }));
    expect(list.Aliases?.map((a) => a.AliasName)).toEqual(["alias/app-one", "alias/app/two"]);
    const one = list.Aliases![0];
    expect(one).toMatchObject({ AliasArn: aliasArn("alias/app-one"), TargetKeyId: k.KeyId });
    expect(one.CreationDate).toBeInstanceOf(Date);
    expect(one.LastUpdatedDate).toBeInstanceOf(Date);
    const rec = (await trailRecords(s, "CreateAlias")).find((r) => r.requestParameters?.aliasName === "alias/app-one")!;
    expect(rec.requestParameters).toEqual({ aliasName: "alias/app-one", targetKeyId: k.KeyId });
    expect(rec.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: k.Arn }]);
  });

  it("applies AWS's naming rules", async () => {
    const k = await createKey(kms);
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: "no-prefix", TargetKeyId: k.KeyId })),
      "ValidationException",
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
    await expectKmsError(kms.send(new CreateAliasCommand({ AliasName: "alias/aws/ebs", TargetKeyId: k.KeyId })), "InvalidAliasNameException");
    await expectKmsError(kms.send(new CreateAliasCommand({ AliasName: "alias/bad name!", TargetKeyId: k.KeyId })), "ValidationException", /regular expression pattern/);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/taken", TargetKeyId: k.KeyId }));
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: "alias/taken", TargetKeyId: k.KeyId })),
      "AlreadyExistsException",
      `An alias with the name ${aliasArn("alias/taken")} already exists`,
    );
  });

  it("targets only key ids and key ARNs, and not keys pending deletion", async () => {
    const k = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/first", TargetKeyId: k.KeyId }));
    await expectKmsError(kms.send(new CreateAliasCommand({ AliasName: "alias/second", TargetKeyId: "alias/first" })), "NotFoundException", "Invalid keyId 'alias/first'");
    const missing = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: "alias/second", TargetKeyId: missing })),
      "NotFoundException",
      `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${missing}' does not exist`,
    );
    const doomed = await createKey(kms);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId }));
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: "alias/late", TargetKeyId: doomed.KeyId })),
      "KMSInvalidStateException",
      `${doomed.Arn} is pending deletion.`,
    );
  });

  it("keeps aliases per region", async () => {
    const k = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/regional", TargetKeyId: k.KeyId }));
    const west = new KMSClient({ ...s.config, region: "us-west-2" });
    await expectKmsError(west.send(new DescribeKeyCommand({ KeyId: "alias/regional" })), "NotFoundException", `Alias ${aliasArn("alias/regional", "us-west-2")} is not found.`);
    await expectKmsError(west.send(new DescribeKeyCommand({ KeyId: aliasArn("alias/regional") })), "NotFoundException", `Invalid arn ${REGION}`);
    const wk = await createKey(west);
    await west.send(new CreateAliasCommand({ AliasName: "alias/regional", TargetKeyId: wk.KeyId }));
    expect((await west.send(new DescribeKeyCommand({ KeyId: "alias/regional" }))).KeyMetadata?.Arn).toBe(wk.Arn);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: "alias/regional" }))).KeyMetadata?.Arn).toBe(k.Arn);
  });
});

describe("UpdateAlias and DeleteAlias", () => {
  it("repoints an alias; old ciphertexts still decrypt through their own key", async () => {
    const a = await createKey(kms);
    const b = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/moving", TargetKeyId: a.KeyId }));
    const old = await kms.send(new EncryptCommand({ KeyId: "alias/moving", Plaintext: utf8("under a") }));
    expect(old.KeyId).toBe(a.Arn);
    await kms.send(new UpdateAliasCommand({ AliasName: "alias/moving", TargetKeyId: b.Arn }));
    const now = await kms.send(new EncryptCommand({ KeyId: "alias/moving", Plaintext: utf8("under b") }));
    expect(now.KeyId).toBe(b.Arn);
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }))).Plaintext)).toBe("under a");
    await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob, KeyId: "alias/moving" })), "IncorrectKeyException");
  });

  it("refuses to repoint to a key of another type or to a key pending deletion", async () => {
    const sym = await createKey(kms);
    const signer = await createKey(kms, { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    await kms.send(new CreateAliasCommand({ AliasName: "alias/typed", TargetKeyId: sym.KeyId }));
    await expectKmsError(kms.send(new UpdateAliasCommand({ AliasName: "alias/typed", TargetKeyId: signer.KeyId })), "ValidationException");
    const doomed = await createKey(kms);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId }));
    await expectKmsError(
      kms.send(new UpdateAliasCommand({ AliasName: "alias/typed", TargetKeyId: doomed.KeyId })),
      "KMSInvalidStateException",
      `${doomed.Arn} is pending deletion.`,
    );
    // the source key being pending deletion is fine
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: sym.KeyId }));
    const fresh = await createKey(kms);
    await kms.send(new UpdateAliasCommand({ AliasName: "alias/typed", TargetKeyId: fresh.KeyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: "alias/typed" }))).KeyMetadata?.Arn).toBe(fresh.Arn);
  });

  it("deletes aliases, also of keys pending deletion", async () => {
    const k = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/gone", TargetKeyId: k.KeyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId }));
    await kms.send(new DeleteAliasCommand({ AliasName: "alias/gone" }));
    await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: "alias/gone" })), "NotFoundException", `Alias ${aliasArn("alias/gone")} is not found.`);
    await expectKmsError(kms.send(new DeleteAliasCommand({ AliasName: "alias/gone" })), "NotFoundException", `Alias ${aliasArn("alias/gone")} is not found.`);
    await expectKmsError(kms.send(new UpdateAliasCommand({ AliasName: "alias/gone", TargetKeyId: k.KeyId })), "NotFoundException");
  });
});

describe("ListAliases", () => {
  it("pages with Limit and Marker and filters by key", async () => {
    const own = new KMSClient(s.configFor({ accessKeyId: "333344445555", secretAccessKey: "test" }));
    const k = await createKey(own);
    const names = ["alias/l-a", "alias/l-b", "alias/l-c", "alias/l-d", "alias/l-e"];
    for (const n of names) await own.send(new CreateAliasCommand({ AliasName: n, TargetKeyId: k.KeyId }));
    const seen: string[] = [];
    let Marker: string | undefined;
    let pages = 0;
    do {
      const r = await own.send(new ListAliasesCommand({ Limit: 2, Marker }));
      seen.push(...r.Aliases!.map((a) => a.AliasName!));
      expect(r.Truncated).toBe(r.NextMarker !== undefined);
      Marker = r.NextMarker;
      pages++;
    } while (Marker);
    // the predefined AWS managed aliases (alias/aws/...) sort before the account's own
    expect(seen.filter((n) => !n.startsWith("alias/aws/"))).toEqual(names);
    expect(seen).toEqual([...seen].sort());
    expect(pages).toBe(Math.ceil(seen.length / 2));
    const other = await createKey(own);
    expect((await own.send(new ListAliasesCommand({ KeyId: other.Arn }))).Aliases).toEqual([]);
    await expectKmsError(own.send(new ListAliasesCommand({ Limit: 101 })), "ValidationException");
  });
});
