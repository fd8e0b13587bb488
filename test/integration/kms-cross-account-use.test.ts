/**
 * Cross-account use of KMS operations (docs/kms.md, "Cross-account use"): a key whose policy
 * grants another account kms:* is used by that account only through the operations whose API
 * reference says "Cross-account use: Yes". Every other operation resolves the key ARN in the
 * caller's own account and answers NotFoundException, and the key is left exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as KMS from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createKey, doc, expectKmsError, rootStatement, text, utf8 } from "./kms-helpers.ts";

const OTHER = "111111111111";
let s: TestServer;
let owner: KMS.KMSClient;
let other: KMS.KMSClient;
let key: KMS.KeyMetadata;
let external: KMS.KeyMetadata;

const policy = doc([rootStatement(), { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "kms:*", Resource: "*" }]);

/** Everything the owner can see of a key, to show a refused call changed nothing. */
async function snapshot(keyId: string) {
  const [md, pol, tags, rot, aliases, grants] = await Promise.all([
    owner.send(new KMS.DescribeKeyCommand({ KeyId: keyId })),
    owner.send(new KMS.GetKeyPolicyCommand({ KeyId: keyId })),
    owner.send(new KMS.ListResourceTagsCommand({ KeyId: keyId })),
    owner.send(new KMS.GetKeyRotationStatusCommand({ KeyId: keyId })).catch((e: Error) => ({ KeyRotationEnabled: e.name, RotationPeriodInDays: undefined })),
    owner.send(new KMS.ListAliasesCommand({})),
    owner.send(new KMS.ListGrantsCommand({ KeyId: keyId })),
  ]);
  return { md: md.KeyMetadata, policy: pol.Policy, tags: tags.Tags, rotation: [rot.KeyRotationEnabled, rot.RotationPeriodInDays], aliases: aliases.Aliases, grants: grants.Grants };
}

beforeAll(async () => {
  s = await startTestServer();
  owner = new KMS.KMSClient(s.config);
  other = new KMS.KMSClient(s.configFor({ accessKeyId: OTHER, secretAccessKey: "test" }));
  key = await createKey(owner, { Policy: policy, Tags: [{ TagKey: "team", TagValue: "owner" }] });
  external = await createKey(owner, { Policy: policy, Origin: "EXTERNAL" });
});
afterAll(async () => {
  await s?.close();
});

describe("operations with no cross-account use", () => {
  const refused: [string, (arn: string) => object, () => KMS.KeyMetadata][] = [
    ["EnableKey", (KeyId) => new KMS.EnableKeyCommand({ KeyId }), () => key],
    ["DisableKey", (KeyId) => new KMS.DisableKeyCommand({ KeyId }), () => key],
    ["ScheduleKeyDeletion", (KeyId) => new KMS.ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }), () => key],
    ["CancelKeyDeletion", (KeyId) => new KMS.CancelKeyDeletionCommand({ KeyId }), () => key],
    ["UpdateKeyDescription", (KeyId) => new KMS.UpdateKeyDescriptionCommand({ KeyId, Description: "changed" }), () => key],
    ["TagResource", (KeyId) => new KMS.TagResourceCommand({ KeyId, Tags: [{ TagKey: "team", TagValue: "other" }] }), () => key],
    ["UntagResource", (KeyId) => new KMS.UntagResourceCommand({ KeyId, TagKeys: ["team"] }), () => key],
    ["ListResourceTags", (KeyId) => new KMS.ListResourceTagsCommand({ KeyId }), () => key],
    ["GetKeyPolicy", (KeyId) => new KMS.GetKeyPolicyCommand({ KeyId }), () => key],
    ["ListKeyPolicies", (KeyId) => new KMS.ListKeyPoliciesCommand({ KeyId }), () => key],
    [
      "PutKeyPolicy",
      (KeyId) => new KMS.PutKeyPolicyCommand({ KeyId, PolicyName: "default", Policy: doc([rootStatement(OTHER)]), BypassPolicyLockoutSafetyCheck: true }),
      () => key,
    ],
    ["EnableKeyRotation", (KeyId) => new KMS.EnableKeyRotationCommand({ KeyId }), () => key],
    ["DisableKeyRotation", (KeyId) => new KMS.DisableKeyRotationCommand({ KeyId }), () => key],
    ["RotateKeyOnDemand", (KeyId) => new KMS.RotateKeyOnDemandCommand({ KeyId }), () => key],
    ["ListKeyRotations", (KeyId) => new KMS.ListKeyRotationsCommand({ KeyId }), () => key],
    ["CreateAlias", (TargetKeyId) => new KMS.CreateAliasCommand({ AliasName: "alias/borrowed", TargetKeyId }), () => key],
    ["ListAliases", (KeyId) => new KMS.ListAliasesCommand({ KeyId }), () => key],
    ["GetParametersForImport", (KeyId) => new KMS.GetParametersForImportCommand({ KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }), () => external],
    [
      "ImportKeyMaterial",
      (KeyId) =>
        new KMS.ImportKeyMaterialCommand({ KeyId, ImportToken: new Uint8Array(64), EncryptedKeyMaterial: new Uint8Array(256), ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }),
      () => external,
    ],
    ["DeleteImportedKeyMaterial", (KeyId) => new KMS.DeleteImportedKeyMaterialCommand({ KeyId }), () => external],
  ];

  it.each(refused)("%s refuses another account's key ARN even where the key policy grants kms:*", async (_op, command, which) => {
    const k = which();
    const before = await snapshot(k.KeyId!);
    await expectKmsError(other.send(command(k.Arn!) as never), "NotFoundException", `Key '${k.Arn}' does not exist`);
    expect(await snapshot(k.KeyId!)).toEqual(before);
  });

  it("ListAliases answers another account's existing key ARN as it answers one that does not exist", async () => {
    await owner.send(new KMS.CreateAliasCommand({ AliasName: "alias/owned", TargetKeyId: key.KeyId }));
    const missing = key.Arn!.replace(key.KeyId!, "0000abcd-12ab-34cd-56ef-1234567890ab");
    const answer = async (KeyId: string) => {
      const e = await expectKmsError(other.send(new KMS.ListAliasesCommand({ KeyId })), "NotFoundException");
      return [e.name, e.$metadata?.httpStatusCode, e.message.replace(KeyId, "<arn>")];
    };
    expect(await answer(key.Arn!)).toEqual(await answer(missing));
    // the owner still lists its alias for the key
    expect((await owner.send(new KMS.ListAliasesCommand({ KeyId: key.KeyId }))).Aliases!.map((a) => a.AliasName)).toEqual(["alias/owned"]);
  });
});

describe("operations with cross-account use", () => {
  it("encrypt, decrypt, describe, read rotation status and manage grants across accounts", async () => {
    const blob = (await other.send(new KMS.EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("shared") }))).CiphertextBlob!;
    expect(text((await other.send(new KMS.DecryptCommand({ CiphertextBlob: blob, KeyId: key.Arn }))).Plaintext)).toBe("shared");
    expect((await other.send(new KMS.GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256" }))).KeyId).toBe(key.Arn);
    expect((await other.send(new KMS.DescribeKeyCommand({ KeyId: key.Arn }))).KeyMetadata!.KeyId).toBe(key.KeyId);
    expect((await other.send(new KMS.GetKeyRotationStatusCommand({ KeyId: key.Arn }))).KeyRotationEnabled).toBe(false);
    const grant = await other.send(new KMS.CreateGrantCommand({ KeyId: key.Arn, GranteePrincipal: `arn:aws:iam::${OTHER}:root`, Operations: ["Decrypt"] }));
    expect((await other.send(new KMS.ListGrantsCommand({ KeyId: key.Arn }))).Grants!.map((g) => g.GrantId)).toContain(grant.GrantId);
    await other.send(new KMS.RevokeGrantCommand({ KeyId: key.Arn, GrantId: grant.GrantId }));
    expect((await owner.send(new KMS.ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);
  });
});
