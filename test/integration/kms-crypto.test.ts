/**
 * KMS cryptography through the real SDK: symmetric encryption with encryption context, data
 * keys, data key pairs, random bytes, RSA encryption, signatures, MACs, public keys; and every
 * key state against every cryptographic operation, with AWS's exact errors.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createCipheriv, createDecipheriv, createPublicKey, createPrivateKey, createHmac, publicEncrypt, constants, verify as nodeVerify, createHash } from "node:crypto";
import {
  CreateAliasCommand,
  DecryptCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GenerateRandomCommand,
  GetPublicKeyCommand,
  KMSClient,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, REGION, createKey, expectKmsError, text, trailRecords, utf8 } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
let sym: KeyMetadata;
beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
  sym = await createKey(kms, { Description: "crypto" });
});
afterAll(async () => {
  await s.close();
});

describe("Encrypt / Decrypt", () => {
  it("round-trips with and without KeyId, returning the key ARN", async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("hello kms") }));
    expect(enc.KeyId).toBe(sym.Arn);
    expect(enc.EncryptionAlgorithm).toBe("SYMMETRIC_DEFAULT");
    expect(text(enc.CiphertextBlob)).not.toContain("hello kms");
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    expect(text(dec.Plaintext)).toBe("hello kms");
    expect(dec.KeyId).toBe(sym.Arn);
    expect(dec.EncryptionAlgorithm).toBe("SYMMETRIC_DEFAULT");
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: sym.Arn }))).KeyId).toBe(sym.Arn);
  });

  it("produces a fresh ciphertext every time", async () => {
    const a = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("same") }));
    const b = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("same") }));
    expect(Buffer.from(a.CiphertextBlob!).equals(Buffer.from(b.CiphertextBlob!))).toBe(false);
  });

  it("encrypts through an alias and an alias ARN", async () => {
    await kms.send(new CreateAliasCommand({ AliasName: "alias/crypto", TargetKeyId: sym.KeyId }));
    for (const KeyId of ["alias/crypto", `arn:aws:kms:${REGION}:${ACCOUNT}:alias/crypto`]) {
      const enc = await kms.send(new EncryptCommand({ KeyId, Plaintext: utf8("via alias") }));
      expect(enc.KeyId).toBe(sym.Arn);
      expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId }))).Plaintext)).toBe("via alias");
    }
  });

  it("requires the exact encryption context, in any order", async () => {
    const EncryptionContext = { purpose: "test", "aws:ecs:clusterName": "prod" };
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("ctx"), EncryptionContext }));
    const ok = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { "aws:ecs:clusterName": "prod", purpose: "test" } }));
    expect(text(ok.Plaintext)).toBe("ctx");
    const bads: (Record<string, string> | undefined)[] = [
      undefined,
      {},
      { purpose: "test" },
      { purpose: "Test", "aws:ecs:clusterName": "prod" },
      { ...EncryptionContext, extra: "1" },
      { Purpose: "test", "aws:ecs:clusterName": "prod" },
    ];
    for (const bad of bads) {
      await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: bad })), "InvalidCiphertextException", "");
    }
    // a context on decrypt that was not used to encrypt
    const plain = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("no ctx") }));
    await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: plain.CiphertextBlob, EncryptionContext: { a: "b" } })), "InvalidCiphertextException", "");
  });

  it("detects tampering anywhere in the blob", async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("tamper-proof") }));
    const blob = Buffer.from(enc.CiphertextBlob!);
    for (const pos of [blob.length - 1, blob.length - 20, blob.length - 30]) {
      const t = Buffer.from(blob);
      t[pos] ^= 0x01;
      await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: t })), "InvalidCiphertextException", "");
    }
    await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from("not a kms ciphertext") })), "InvalidCiphertextException", "");
    await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, 40) })), "InvalidCiphertextException", "");
  });

  it("refuses a KeyId that is not the key that encrypted", async () => {
    const other = await createKey(kms);
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("mine") }));
    await expectKmsError(
      kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: other.KeyId })),
      "IncorrectKeyException",
      "The key ID in the request does not identify a CMK that can perform this operation.",
    );
    const rec = (await trailRecords(s, "Decrypt")).find((r) => r.errorCode === "IncorrectKeyException")!;
    expect(rec.errorMessage).toBe("The key ID in the request does not identify a CMK that can perform this operation.");
  });

  it("answers AccessDenied for a blob whose key is in another region", async () => {
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("east") }));
    const west = new KMSClient({ ...s.config, region: "us-west-2" });
    await expectKmsError(
      west.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
      "AccessDeniedException",
      "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
    );
  });

  it("limits plaintext to 4096 bytes", async () => {
    await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: new Uint8Array(4096) }));
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: new Uint8Array(4097) })),
      "ValidationException",
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
  });

  it("logs no plaintext or ciphertext in CloudTrail", async () => {
    const secret = "top-secret-plaintext-9f3a";
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8(secret), EncryptionContext: { k: "v" } }));
    await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { k: "v" } }));
    const blob64 = Buffer.from(enc.CiphertextBlob!).toString("base64");
    const e = (await trailRecords(s, "Encrypt")).find((r) => r.requestParameters?.encryptionContext?.k === "v")!;
    const d = (await trailRecords(s, "Decrypt")).find((r) => r.requestParameters?.encryptionContext?.k === "v")!;
    for (const r of [e, d]) {
      const json = JSON.stringify(r);
      expect(json).not.toContain(secret);
      expect(json).not.toContain(Buffer.from(secret).toString("base64"));
      expect(json).not.toContain(blob64.slice(0, 40));
      expect(r.responseElements).toBeNull();
      expect(r.readOnly).toBe(true);
      expect(r.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: sym.Arn }]);
    }
    expect(e.requestParameters).toEqual({ keyId: sym.KeyId, encryptionContext: { k: "v" }, encryptionAlgorithm: "SYMMETRIC_DEFAULT" });
    expect(d.requestParameters).toEqual({ encryptionContext: { k: "v" }, encryptionAlgorithm: "SYMMETRIC_DEFAULT" });
  });
});

describe("ReEncrypt", () => {
  it("moves a ciphertext to another key and context", async () => {
    const dest = await createKey(kms);
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("move me"), EncryptionContext: { a: "1" } }));
    await expectKmsError(
      kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: dest.KeyId, SourceEncryptionContext: { a: "2" } })),
      "InvalidCiphertextException",
      "",
    );
    const re = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { a: "1" }, DestinationKeyId: dest.Arn, DestinationEncryptionContext: { b: "2" } }),
    );
    expect(re.SourceKeyId).toBe(sym.Arn);
    expect(re.KeyId).toBe(dest.Arn);
    expect(re.SourceEncryptionAlgorithm).toBe("SYMMETRIC_DEFAULT");
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { b: "2" } }));
    expect([text(dec.Plaintext), dec.KeyId]).toEqual(["move me", dest.Arn]);
    await expectKmsError(
      kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceKeyId: dest.KeyId, SourceEncryptionContext: { a: "1" }, DestinationKeyId: dest.KeyId })),
      "IncorrectKeyException",
    );
    const rec = (await trailRecords(s, "ReEncrypt")).find((r) => r.requestParameters?.destinationKeyId === dest.Arn)!;
    expect(rec.requestParameters).toMatchObject({
      sourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      destinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      destinationEncryptionContext: { b: "2" },
    });
    expect(rec.resources.map((x: { ARN: string }) => x.ARN)).toEqual([sym.Arn, dest.Arn]);
  });
});

describe("data keys and random bytes", () => {
  it("GenerateDataKey returns a plaintext key and its ciphertext", async () => {
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, KeySpec: "AES_256", EncryptionContext: { dk: "1" } }));
    expect(dk.Plaintext).toHaveLength(32);
    expect(dk.KeyId).toBe(sym.Arn);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { dk: "1" } }));
    expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(dk.Plaintext!))).toBe(true);
    // the data key really is an AES-256 key: use it
    const iv = Buffer.alloc(12, 1);
    const c = createCipheriv("aes-256-gcm", dk.Plaintext!, iv);
    const ct = Buffer.concat([c.update("data"), c.final()]);
    const tag = c.getAuthTag();
    const d = createDecipheriv("aes-256-gcm", dec.Plaintext!, iv);
    d.setAuthTag(tag);
    expect(Buffer.concat([d.update(ct), d.final()]).toString()).toBe("data");
    expect((await kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, KeySpec: "AES_128" }))).Plaintext).toHaveLength(16);
    expect((await kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, NumberOfBytes: 64 }))).Plaintext).toHaveLength(64);
  });

  it("validates NumberOfBytes and KeySpec", async () => {
    await expectKmsError(kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId })), "ValidationException", "Please specify either number of bytes or key spec.");
    await expectKmsError(
      kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, NumberOfBytes: 0 })),
      "ValidationException",
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    await expectKmsError(
      kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, NumberOfBytes: 1025 })),
      "ValidationException",
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    await expectKmsError(kms.send(new GenerateDataKeyCommand({ KeyId: sym.KeyId, NumberOfBytes: 32, KeySpec: "AES_256" })), "ValidationException");
  });

  it("GenerateDataKeyWithoutPlaintext returns only the ciphertext", async () => {
    const dk = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: sym.KeyId, NumberOfBytes: 64, EncryptionContext: { v: "1" } }));
    expect((dk as { Plaintext?: unknown }).Plaintext).toBeUndefined();
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { v: "1" } }))).Plaintext).toHaveLength(64);
    const rec = (await trailRecords(s, "GenerateDataKeyWithoutPlaintext")).find((r) => r.requestParameters?.encryptionContext?.v === "1")!;
    expect(rec.requestParameters).toEqual({ keyId: sym.KeyId, encryptionContext: { v: "1" }, numberOfBytes: 64 });
    expect(rec.responseElements).toBeNull();
  });

  it.each(["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"] as const)("GenerateDataKeyPair %s: a working key pair, private half sealed", async (KeyPairSpec) => {
    const kp = await kms.send(new GenerateDataKeyPairCommand({ KeyId: sym.KeyId, KeyPairSpec, EncryptionContext: { kp: "1" } }));
    expect(kp.KeyPairSpec).toBe(KeyPairSpec);
    const priv = createPrivateKey({ key: Buffer.from(kp.PrivateKeyPlaintext!), format: "der", type: "pkcs8" });
    const pub = createPublicKey({ key: Buffer.from(kp.PublicKey!), format: "der", type: "spki" });
    const { sign } = await import("node:crypto");
    const sig = sign("sha256", Buffer.from("msg"), priv);
    expect(nodeVerify("sha256", Buffer.from("msg"), pub, sig)).toBe(true);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: kp.PrivateKeyCiphertextBlob, EncryptionContext: { kp: "1" } }));
    expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(kp.PrivateKeyPlaintext!))).toBe(true);
    const wp = await kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: sym.KeyId, KeyPairSpec }));
    expect((wp as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext).toBeUndefined();
    const priv2 = (await kms.send(new DecryptCommand({ CiphertextBlob: wp.PrivateKeyCiphertextBlob }))).Plaintext!;
    const pub2 = createPublicKey(createPrivateKey({ key: Buffer.from(priv2), format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
    expect(pub2.equals(Buffer.from(wp.PublicKey!))).toBe(true);
  });

  it("GenerateRandom returns the bytes asked for", async () => {
    const a = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    const b = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    expect(a.Plaintext).toHaveLength(32);
    expect(Buffer.from(a.Plaintext!).equals(Buffer.from(b.Plaintext!))).toBe(false);
    await expectKmsError(kms.send(new GenerateRandomCommand({ NumberOfBytes: 1025 })), "ValidationException");
    await expectKmsError(kms.send(new GenerateRandomCommand({})), "ValidationException", "NumberOfBytes is required.");
  });
});

describe("asymmetric and HMAC keys", () => {
  it("encrypts with RSA OAEP; ciphertexts decrypt with node and with KMS", async () => {
    const rsa = await createKey(kms, { KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" });
    const pk = await kms.send(new GetPublicKeyCommand({ KeyId: rsa.KeyId }));
    expect(pk).toMatchObject({ KeyId: rsa.Arn, KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT", EncryptionAlgorithms: ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] });
    const pub = createPublicKey({ key: Buffer.from(pk.PublicKey!), format: "der", type: "spki" });
    const external = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, Buffer.from("from outside"));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: external, KeyId: rsa.KeyId, EncryptionAlgorithm: "RSAES_OAEP_SHA_256" }));
    expect(text(dec.Plaintext)).toBe("from outside");
    const enc = await kms.send(new EncryptCommand({ KeyId: rsa.KeyId, Plaintext: utf8("inside"), EncryptionAlgorithm: "RSAES_OAEP_SHA_1" }));
    expect(enc.EncryptionAlgorithm).toBe("RSAES_OAEP_SHA_1");
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, KeyId: rsa.KeyId, EncryptionAlgorithm: "RSAES_OAEP_SHA_1" }))).Plaintext)).toBe("inside");
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: rsa.KeyId, Plaintext: utf8("x") })),
      "InvalidKeyUsageException",
      "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.",
    );
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: rsa.KeyId, Plaintext: new Uint8Array(191), EncryptionAlgorithm: "RSAES_OAEP_SHA_256" })),
      "ValidationException",
      "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.",
    );
    await expectKmsError(kms.send(new GenerateDataKeyCommand({ KeyId: rsa.KeyId, NumberOfBytes: 32 })), "InvalidKeyUsageException");
  });

  it.each([
    ["RSA_2048", "RSASSA_PSS_SHA_256", "sha256"],
    ["RSA_3072", "RSASSA_PKCS1_V1_5_SHA_384", "sha384"],
    ["ECC_NIST_P256", "ECDSA_SHA_256", "sha256"],
    ["ECC_NIST_P384", "ECDSA_SHA_384", "sha384"],
  ] as const)("signs and verifies with %s / %s (RAW and DIGEST)", async (KeySpec, SigningAlgorithm, hash) => {
    const k = await createKey(kms, { KeySpec, KeyUsage: "SIGN_VERIFY" });
    const msg = utf8("sign me");
    const sig = await kms.send(new SignCommand({ KeyId: k.KeyId, Message: msg, SigningAlgorithm }));
    expect(sig.KeyId).toBe(k.Arn);
    expect(sig.SigningAlgorithm).toBe(SigningAlgorithm);
    const pub = createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: k.KeyId }))).PublicKey!), format: "der", type: "spki" });
    const opts = SigningAlgorithm.startsWith("RSASSA_PSS") ? { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(hash).digest().length } : { key: pub };
    expect(nodeVerify(hash, msg, opts, Buffer.from(sig.Signature!))).toBe(true);
    const ok = await kms.send(new VerifyCommand({ KeyId: k.KeyId, Message: msg, Signature: sig.Signature, SigningAlgorithm }));
    expect(ok.SignatureValid).toBe(true);
    const digest = createHash(hash).update(msg).digest();
    const dsig = await kms.send(new SignCommand({ KeyId: k.KeyId, Message: digest, MessageType: "DIGEST", SigningAlgorithm }));
    expect((await kms.send(new VerifyCommand({ KeyId: k.KeyId, Message: msg, Signature: dsig.Signature, SigningAlgorithm }))).SignatureValid).toBe(true);
    await expectKmsError(kms.send(new VerifyCommand({ KeyId: k.KeyId, Message: utf8("other"), Signature: sig.Signature, SigningAlgorithm })), "KMSInvalidSignatureException");
    await expectKmsError(
      kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: msg })),
      "InvalidKeyUsageException",
      `${k.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    );
  });

  it("refuses a signing algorithm the key spec does not support", async () => {
    const k = await createKey(kms, { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    await expectKmsError(
      kms.send(new SignCommand({ KeyId: k.KeyId, Message: utf8("m"), SigningAlgorithm: "ECDSA_SHA_512" })),
      "InvalidKeyUsageException",
      "Algorithm ECDSA_SHA_512 is incompatible with key spec ECC_NIST_P256.",
    );
    await expectKmsError(
      kms.send(new SignCommand({ KeyId: k.KeyId, Message: utf8("short"), MessageType: "DIGEST", SigningAlgorithm: "ECDSA_SHA_256" })),
      "ValidationException",
      "Digest is invalid length for algorithm ECDSA_SHA_256.",
    );
  });

  it("generates and verifies HMACs", async () => {
    const k = await createKey(kms, { KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    const mac = await kms.send(new GenerateMacCommand({ KeyId: k.KeyId, Message: utf8("mac me"), MacAlgorithm: "HMAC_SHA_256" }));
    expect(mac.Mac).toHaveLength(32);
    expect(mac.KeyId).toBe(k.Arn);
    const again = await kms.send(new GenerateMacCommand({ KeyId: k.KeyId, Message: utf8("mac me"), MacAlgorithm: "HMAC_SHA_256" }));
    expect(Buffer.from(again.Mac!).equals(Buffer.from(mac.Mac!))).toBe(true);
    expect((await kms.send(new VerifyMacCommand({ KeyId: k.KeyId, Message: utf8("mac me"), MacAlgorithm: "HMAC_SHA_256", Mac: mac.Mac }))).MacValid).toBe(true);
    await expectKmsError(kms.send(new VerifyMacCommand({ KeyId: k.KeyId, Message: utf8("mac you"), MacAlgorithm: "HMAC_SHA_256", Mac: mac.Mac })), "KMSInvalidMacException");
    await expectKmsError(kms.send(new GenerateMacCommand({ KeyId: k.KeyId, Message: utf8("m"), MacAlgorithm: "HMAC_SHA_512" })), "InvalidKeyUsageException");
    await expectKmsError(kms.send(new GetPublicKeyCommand({ KeyId: k.KeyId })), "UnsupportedOperationException");
    await expectKmsError(
      kms.send(new GenerateMacCommand({ KeyId: sym.KeyId, Message: utf8("m"), MacAlgorithm: "HMAC_SHA_256" })),
      "InvalidKeyUsageException",
      `${sym.Arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.`,
    );
    // an HMAC key is a real HMAC: equal MACs for equal messages, different for different ones
    expect(createHmac("sha256", "x").update("a").digest()).not.toEqual(Buffer.from(mac.Mac!));
  });
});

describe("DryRun", () => {
  it("answers DryRunOperationException when the call would succeed, and the real error otherwise", async () => {
    const msg = "The request would have succeeded, but the DryRun option is set.";
    await expectKmsError(kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("x"), DryRun: true })), "DryRunOperationException", msg);
    await expectKmsError(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: sym.KeyId, NumberOfBytes: 64, DryRun: true })), "DryRunOperationException", msg);
    const enc = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("x") }));
    await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, DryRun: true })), "DryRunOperationException", msg);
    const off = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: off.KeyId }));
    await expectKmsError(kms.send(new EncryptCommand({ KeyId: off.KeyId, Plaintext: utf8("x"), DryRun: true })), "DisabledException", `${off.Arn} is disabled.`);
    const rec = (await trailRecords(s, "GenerateDataKeyWithoutPlaintext")).find((r) => r.requestParameters?.dryRun === true)!;
    expect(rec.errorCode).toBe("DryRunOperationException");
    expect(rec.errorMessage).toBe(msg);
    expect(rec.responseElements).toBeNull();
  });
});

describe("key states × cryptographic operations (docs/kms.md#key-states)", () => {
  type Op = { name: string; run: (k: KeyMetadata, blob: Uint8Array) => Promise<unknown> };
  const ops: Op[] = [
    { name: "Encrypt", run: (k) => kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: utf8("x") })) },
    { name: "Decrypt", run: (_k, blob) => kms.send(new DecryptCommand({ CiphertextBlob: blob })) },
    { name: "ReEncrypt (source)", run: (_k, blob) => kms.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: sym.KeyId })) },
    { name: "ReEncrypt (destination)", run: (k, _blob) => kms.send(new ReEncryptCommand({ CiphertextBlob: goodBlob, DestinationKeyId: k.KeyId })) },
    { name: "GenerateDataKey", run: (k) => kms.send(new GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: "AES_256" })) },
    { name: "GenerateDataKeyWithoutPlaintext", run: (k) => kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.KeyId, NumberOfBytes: 32 })) },
    { name: "GenerateDataKeyPair", run: (k) => kms.send(new GenerateDataKeyPairCommand({ KeyId: k.KeyId, KeyPairSpec: "ECC_NIST_P256" })) },
    { name: "GenerateDataKeyPairWithoutPlaintext", run: (k) => kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: k.KeyId, KeyPairSpec: "ECC_NIST_P256" })) },
  ];
  let goodBlob: Uint8Array;

  async function keyIn(state: "Enabled" | "Disabled" | "PendingDeletion" | "PendingImport" | "deleted"): Promise<{ key: KeyMetadata; blob: Uint8Array }> {
    if (state === "PendingImport") {
      const key = await createKey(kms, { Origin: "EXTERNAL" });
      // a blob naming this key (made while it was never usable): the header is all Decrypt needs to find it
      const other = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("x") }));
      const b = Buffer.from(other.CiphertextBlob!);
      const arnLen = b[1];
      const arn = Buffer.from(key.Arn!);
      const forged = Buffer.concat([Buffer.from([1, arn.length]), arn, b.subarray(2 + arnLen)]);
      return { key, blob: forged };
    }
    const key = await createKey(kms);
    const blob = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") }))).CiphertextBlob!;
    if (state === "Disabled") await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    if (state === "PendingDeletion") await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    return { key, blob };
  }

  beforeAll(async () => {
    goodBlob = (await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("good") }))).CiphertextBlob!;
  });

  it("Enabled: every operation works", async () => {
    const { key, blob } = await keyIn("Enabled");
    for (const op of ops) await op.run(key, blob);
  });

  it.each([
    ["Disabled", "DisabledException", (arn: string) => `${arn} is disabled.`],
    ["PendingDeletion", "KMSInvalidStateException", (arn: string) => `${arn} is pending deletion.`],
    ["PendingImport", "KMSInvalidStateException", (arn: string) => `${arn} is pending import.`],
  ] as const)("%s: every operation fails with %s", async (state, code, message) => {
    const { key, blob } = await keyIn(state);
    for (const op of ops) {
      const e = await expectKmsError(op.run(key, blob) as Promise<unknown>, code);
      expect(e.message, op.name).toBe(message(key.Arn!));
    }
  });

  it("deleted: NotFoundException by id, AccessDenied for its ciphertexts", async () => {
    const own = await startTestServer();
    try {
      const k = new KMSClient(own.config);
      const key = await createKey(k);
      const blob = (await k.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") }))).CiphertextBlob!;
      const live = await createKey(k);
      const liveBlob = (await k.send(new EncryptCommand({ KeyId: live.KeyId, Plaintext: utf8("y") }))).CiphertextBlob!;
      await k.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      await own.advanceClock(8 * 86400);
      const notFound = `Key '${key.Arn}' does not exist`;
      await expectKmsError(k.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") })), "NotFoundException", notFound);
      await expectKmsError(k.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: "AES_256" })), "NotFoundException", notFound);
      await expectKmsError(k.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.Arn, KeySpec: "AES_256" })), "NotFoundException", notFound);
      await expectKmsError(k.send(new GenerateDataKeyPairCommand({ KeyId: key.KeyId, KeyPairSpec: "ECC_NIST_P256" })), "NotFoundException", notFound);
      await expectKmsError(k.send(new ReEncryptCommand({ CiphertextBlob: liveBlob, DestinationKeyId: key.KeyId })), "NotFoundException", notFound);
      const denied = "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.";
      await expectKmsError(k.send(new DecryptCommand({ CiphertextBlob: blob })), "AccessDeniedException", denied);
      await expectKmsError(k.send(new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: live.KeyId })), "AccessDeniedException", denied);
      await expectKmsError(k.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: key.KeyId })), "NotFoundException", notFound);
    } finally {
      await own.close();
    }
  });

  it("signing, MAC and public-key operations follow the same table", async () => {
    const signer = await createKey(kms, { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    const mac = await createKey(kms, { KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    const sig = (await kms.send(new SignCommand({ KeyId: signer.KeyId, Message: utf8("m"), SigningAlgorithm: "ECDSA_SHA_256" }))).Signature;
    const m = (await kms.send(new GenerateMacCommand({ KeyId: mac.KeyId, Message: utf8("m"), MacAlgorithm: "HMAC_SHA_256" }))).Mac;
    await kms.send(new DisableKeyCommand({ KeyId: signer.KeyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: mac.KeyId }));
    await expectKmsError(
      kms.send(new SignCommand({ KeyId: signer.KeyId, Message: utf8("m"), SigningAlgorithm: "ECDSA_SHA_256" })),
      "DisabledException",
      `${signer.Arn} is disabled.`,
    );
    await expectKmsError(kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: utf8("m"), Signature: sig, SigningAlgorithm: "ECDSA_SHA_256" })), "DisabledException");
    await expectKmsError(kms.send(new GetPublicKeyCommand({ KeyId: signer.KeyId })), "DisabledException");
    await expectKmsError(
      kms.send(new GenerateMacCommand({ KeyId: mac.KeyId, Message: utf8("m"), MacAlgorithm: "HMAC_SHA_256" })),
      "KMSInvalidStateException",
      `${mac.Arn} is pending deletion.`,
    );
    await expectKmsError(kms.send(new VerifyMacCommand({ KeyId: mac.KeyId, Message: utf8("m"), Mac: m, MacAlgorithm: "HMAC_SHA_256" })), "KMSInvalidStateException");
  });
});
