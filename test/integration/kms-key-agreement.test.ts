/** KMS DeriveSharedSecret through the SDK: ECDH agrees with the peer's own computation; usage, curve, policy and DryRun rules. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";
import { CreateKeyCommand, DeriveSharedSecretCommand, DisableKeyCommand, GetPublicKeyCommand, KMSClient, CreateGrantCommand } from "@aws-sdk/client-kms";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, doc, expectKmsError, rootStatement } from "./kms-helpers.ts";
import { allow, userWithKey } from "./iam-helpers.ts";

let server: TestServer;
let kms: KMSClient;
let iam: IAMClient;

beforeAll(async () => {
  server = await startTestServer();
  kms = new KMSClient(server.config);
  iam = new IAMClient(server.config);
});
afterAll(async () => {
  await server?.close();
});

const agreementKey = async (KeySpec: "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521" = "ECC_NIST_P256", Policy?: string) =>
  (await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage: "KEY_AGREEMENT", ...(Policy ? { Policy } : {}) }))).KeyMetadata!;

describe("DeriveSharedSecret", () => {
  it("derives the same raw secret the peer computes from the KMS key's public key, for each NIST curve", async () => {
    for (const [spec, curve] of [
      ["ECC_NIST_P256", "prime256v1"],
      ["ECC_NIST_P384", "secp384r1"],
      ["ECC_NIST_P521", "secp521r1"],
    ] as const) {
      const key = await agreementKey(spec);
      expect(key.KeyAgreementAlgorithms).toEqual(["ECDH"]);
      const bob = generateKeyPairSync("ec", { namedCurve: curve });
      const out = await kms.send(
        new DeriveSharedSecretCommand({ KeyId: key.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: bob.publicKey.export({ type: "spki", format: "der" }) }),
      );
      const alicePublic = (await kms.send(new GetPublicKeyCommand({ KeyId: key.KeyId }))).PublicKey!;
      const expected = diffieHellman({ privateKey: bob.privateKey, publicKey: createPublicKey({ key: Buffer.from(alicePublic), format: "der", type: "spki" }) });
      expect(Buffer.from(out.SharedSecret!).equals(expected), spec).toBe(true);
      expect(out).toMatchObject({ KeyId: key.Arn, KeyAgreementAlgorithm: "ECDH", KeyOrigin: "AWS_KMS" });
    }
  });

  it("refuses keys of another usage, a peer key on another curve or not a key, and a disabled key; DryRun answers DryRunOperationException", async () => {
    const key = await agreementKey();
    const peer = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "der" });
    const derive = (KeyId: string, PublicKey: Uint8Array, extra: object = {}) =>
      kms.send(new DeriveSharedSecretCommand({ KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey, ...extra }));
    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }))).KeyMetadata!;
    await expectKmsError(derive(signing.KeyId!, peer), "InvalidKeyUsageException");
    const symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await expectKmsError(derive(symmetric.KeyId!, peer), "InvalidKeyUsageException");
    const otherCurve = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).publicKey.export({ type: "spki", format: "der" });
    await expectKmsError(derive(key.KeyId!, otherCurve), "ValidationException", /same key spec/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" });
    await expectKmsError(derive(key.KeyId!, rsa), "ValidationException", /same key spec/);
    // a raw uncompressed point is not an SPKI structure
    const ecdh = createECDH("prime256v1");
    await expectKmsError(derive(key.KeyId!, ecdh.generateKeys()), "ValidationException", /SubjectPublicKeyInfo/);
    await expectKmsError(derive(key.KeyId!, peer, { DryRun: true }), "DryRunOperationException");
    await expectKmsError(derive(key.KeyId!, peer, { Recipient: { AttestationDocument: new Uint8Array([1]) } }), "UnsupportedOperationException");
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectKmsError(derive(key.KeyId!, peer), "DisabledException");
  });

  it("needs kms:DeriveSharedSecret from the key policy, IAM or a grant, with the kms:KeyAgreementAlgorithm condition", async () => {
    const creds = await userWithKey(iam, "ecdh-user", doc([allow("kms:DeriveSharedSecret", "*", { Condition: { StringEquals: { "kms:KeyAgreementAlgorithm": "ECDH" } } })]));
    const user = new KMSClient(server.configFor(creds));
    const peer = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ type: "spki", format: "der" });
    const key = await agreementKey();
    const out = await user.send(new DeriveSharedSecretCommand({ KeyId: key.Arn, KeyAgreementAlgorithm: "ECDH", PublicKey: peer }));
    expect(out.SharedSecret!.length).toBe(32);
    // a key policy that delegates administration to IAM but not DeriveSharedSecret: IAM alone does not allow; a grant does
    const adminOnly = doc([{ ...rootStatement(), Action: ["kms:Create*", "kms:Describe*", "kms:Put*", "kms:Get*", "kms:List*", "kms:Disable*", "kms:RevokeGrant"] }]);
    const ownerOnly = await agreementKey("ECC_NIST_P256", adminOnly);
    await expectKmsError(user.send(new DeriveSharedSecretCommand({ KeyId: ownerOnly.Arn, KeyAgreementAlgorithm: "ECDH", PublicKey: peer })), "AccessDeniedException");
    const grantless = new KMSClient(server.configFor(await userWithKey(iam, "ecdh-grantee")));
    await expectKmsError(grantless.send(new DeriveSharedSecretCommand({ KeyId: ownerOnly.Arn, KeyAgreementAlgorithm: "ECDH", PublicKey: peer })), "AccessDeniedException");
    await kms.send(new CreateGrantCommand({ KeyId: ownerOnly.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/ecdh-grantee`, Operations: ["DeriveSharedSecret"] }));
    const granted = await grantless.send(new DeriveSharedSecretCommand({ KeyId: ownerOnly.Arn, KeyAgreementAlgorithm: "ECDH", PublicKey: peer }));
    expect(granted.SharedSecret!.length).toBe(32);
  });
});
