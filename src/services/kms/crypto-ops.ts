/**
 * Encryption operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
 * GenerateDataKeyPair(WithoutPlaintext), GenerateRandom. Real cryptography through ./crypto;
 * plaintext and data keys exist only in the response (never in CloudTrail, logs or the store).
 *
 * Order of checks in every operation: resolve the key (NotFoundException) → authorize (key
 * policy, IAM, grants) → key state (docs/kms.md#key-states) → key usage / algorithm → DryRun → the work.
 */
import type {
  DecryptRequest,
  DecryptResponse,
  EncryptRequest,
  EncryptResponse,
  GenerateDataKeyPairRequest,
  GenerateDataKeyPairResponse,
  GenerateDataKeyPairWithoutPlaintextRequest,
  GenerateDataKeyPairWithoutPlaintextResponse,
  GenerateDataKeyRequest,
  GenerateDataKeyResponse,
  GenerateDataKeyWithoutPlaintextRequest,
  GenerateDataKeyWithoutPlaintextResponse,
  GenerateRandomRequest,
  GenerateRandomResponse,
  ReEncryptRequest,
  ReEncryptResponse,
} from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { namingKeys, type Kms } from "./core.ts";
import { generateKeyMaterialAsync, keySpecInfo, publicKeyDer, requireEncryptionAlgorithm } from "./crypto/asymmetric.ts";
import { dataKeyLength, generateDataKey as randomDataKey, generateRandom } from "./crypto/random.ts";
import { checkGrantTokens } from "./grants.ts";
import { iamCheck } from "./key-policy.ts";
import {
  decryptTarget,
  ignoresCiphertext,
  ciphertextOf,
  decryptWith,
  encryptWith,
  keyInUse,
  namedKeyInUse,
  noContextForAsymmetric,
  rejectRecipient,
  requireSymmetric,
  requireUsage,
  seal,
  useCheck,
  withAlgorithms,
  type CiphertextTarget,
} from "./key-use.ts";
import type { Resolved } from "./resolve.ts";
import { checkKeyState, err, type KeyRecord } from "./state.ts";

function encryptOperation(kms: Kms) {
  return defineOperation<EncryptRequest, EncryptResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKeyInUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "Encrypt", i.EncryptionContext, { "kms:EncryptionAlgorithm": i.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT" })],
    handler: function encrypt(_ctx, i, { key }) {
      checkKeyState(key, "use");
      requireUsage(key, "ENCRYPT_DECRYPT", "Encrypt");
      requireEncryptionAlgorithm(key.keySpec, i.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
      noContextForAsymmetric(key, i.EncryptionContext);
      if (i.DryRun) throw err.dryRun();
      const out = encryptWith(kms, key, Buffer.from(i.Plaintext!), i.EncryptionContext, i.EncryptionAlgorithm);
      return { CiphertextBlob: out.blob, KeyId: key.arn, EncryptionAlgorithm: out.algorithm as EncryptResponse["EncryptionAlgorithm"] };
    },
    audit: { requestParameters: withAlgorithms("EncryptRequest", { EncryptionAlgorithm: "encryptionAlgorithm" }) },
  });
}

function decryptOperation(kms: Kms) {
  return defineOperation<DecryptRequest, DecryptResponse, CiphertextTarget>({
    readOnly: true,
    resolve(ctx, i) {
      checkGrantTokens(i.GrantTokens);
      rejectRecipient(i);
      const target = decryptTarget(kms, ctx, ciphertextOf(i.CiphertextBlob), i.KeyId, ignoresCiphertext(i));
      return namingKeys(ctx, target, target.key);
    },
    authorize: (ctx, i, t) => [useCheck(ctx, kms, t, "Decrypt", i.EncryptionContext, { "kms:EncryptionAlgorithm": i.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT" })],
    handler: function decrypt(_ctx, i, t) {
      const key = t.key;
      checkKeyState(key, "use");
      requireUsage(key, "ENCRYPT_DECRYPT", "Decrypt");
      requireEncryptionAlgorithm(key.keySpec, i.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
      if (i.DryRun) throw err.dryRun();
      const out = decryptWith(kms, t, Buffer.from(i.CiphertextBlob!), i.EncryptionContext, i.EncryptionAlgorithm);
      const res: DecryptResponse & { KeyMaterialId?: string } = {
        KeyId: key.arn,
        Plaintext: out.plaintext,
        EncryptionAlgorithm: out.algorithm as DecryptResponse["EncryptionAlgorithm"],
      };
      if (out.materialId) res.KeyMaterialId = out.materialId;
      return res;
    },
    audit: { requestParameters: withAlgorithms("DecryptRequest", { EncryptionAlgorithm: "encryptionAlgorithm" }) },
  });
}

/** ReEncrypt's two keys: the one the ciphertext is for and the one it is to be encrypted under. */
interface ReEncryptKeys {
  source: CiphertextTarget;
  destination: Resolved;
}

function reEncryptOperation(kms: Kms) {
  return defineOperation<ReEncryptRequest, ReEncryptResponse, ReEncryptKeys>({
    readOnly: true,
    resolve(ctx, i) {
      checkGrantTokens(i.GrantTokens);
      const source = decryptTarget(kms, ctx, ciphertextOf(i.CiphertextBlob), i.SourceKeyId, ignoresCiphertext(i));
      const destination = keyInUse(kms, ctx, i.DestinationKeyId!);
      return namingKeys(ctx, { source, destination }, source.key, destination.key);
    },
    authorize(ctx, i, { source, destination }) {
      const same = { "kms:ReEncryptOnSameKey": source.key.arn === destination.key.arn };
      return [
        useCheck(ctx, kms, { key: source.key, alias: source.alias }, "ReEncryptFrom", i.SourceEncryptionContext, same),
        useCheck(ctx, kms, destination, "ReEncryptTo", i.DestinationEncryptionContext, same),
      ];
    },
    handler: function reEncrypt(_ctx, i, { source, destination }) {
      const src = source.key;
      const dst = destination.key;
      checkKeyState(src, "use");
      requireUsage(src, "ENCRYPT_DECRYPT", "ReEncrypt");
      checkKeyState(dst, "use");
      requireUsage(dst, "ENCRYPT_DECRYPT", "ReEncrypt");
      requireEncryptionAlgorithm(src.keySpec, i.SourceEncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
      requireEncryptionAlgorithm(dst.keySpec, i.DestinationEncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
      noContextForAsymmetric(dst, i.DestinationEncryptionContext);
      if (i.DryRun) throw err.dryRun();
      const plain = decryptWith(kms, source, Buffer.from(i.CiphertextBlob!), i.SourceEncryptionContext, i.SourceEncryptionAlgorithm);
      const out = encryptWith(kms, dst, plain.plaintext, i.DestinationEncryptionContext, i.DestinationEncryptionAlgorithm);
      plain.plaintext.fill(0);
      const res: ReEncryptResponse & Record<string, unknown> = {
        CiphertextBlob: out.blob,
        SourceKeyId: src.arn,
        KeyId: dst.arn,
        SourceEncryptionAlgorithm: plain.algorithm as ReEncryptResponse["SourceEncryptionAlgorithm"],
        DestinationEncryptionAlgorithm: out.algorithm as ReEncryptResponse["DestinationEncryptionAlgorithm"],
      };
      if (plain.materialId) res.SourceKeyMaterialId = plain.materialId;
      if (out.materialId) res.DestinationKeyMaterialId = out.materialId;
      return res;
    },
    audit: {
      requestParameters: withAlgorithms("ReEncryptRequest", {
        SourceEncryptionAlgorithm: "sourceEncryptionAlgorithm",
        DestinationEncryptionAlgorithm: "destinationEncryptionAlgorithm",
      }),
    },
  });
}

/** A symmetric data key under the key's current material; the plaintext is the caller's to keep or wipe. */
function newDataKey(kms: Kms, key: KeyRecord, i: GenerateDataKeyWithoutPlaintextRequest, op: string): { plaintext: Buffer; blob: Buffer; materialId: string } {
  checkKeyState(key, "use");
  requireSymmetric(key, op);
  const size = dataKeyLength(i.KeySpec, i.NumberOfBytes);
  if (i.DryRun) throw err.dryRun();
  const plaintext = randomDataKey(undefined, size);
  const s = seal(kms, key, plaintext, i.EncryptionContext);
  return { plaintext, blob: s.blob, materialId: s.materialId };
}

function generateDataKeyOperation(kms: Kms) {
  return defineOperation<GenerateDataKeyRequest, GenerateDataKeyResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKeyInUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "GenerateDataKey", i.EncryptionContext)],
    handler: function generateDataKey(_ctx, i, { key }) {
      const d = newDataKey(kms, key, i, "GenerateDataKey");
      return { CiphertextBlob: d.blob, Plaintext: d.plaintext, KeyId: key.arn, KeyMaterialId: d.materialId } as GenerateDataKeyResponse;
    },
  });
}

function generateDataKeyWithoutPlaintextOperation(kms: Kms) {
  return defineOperation<GenerateDataKeyWithoutPlaintextRequest, GenerateDataKeyWithoutPlaintextResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKeyInUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "GenerateDataKeyWithoutPlaintext", i.EncryptionContext)],
    handler: function generateDataKeyWithoutPlaintext(_ctx, i, { key }) {
      const d = newDataKey(kms, key, i, "GenerateDataKeyWithoutPlaintext");
      d.plaintext.fill(0);
      return { CiphertextBlob: d.blob, KeyId: key.arn, KeyMaterialId: d.materialId } as GenerateDataKeyWithoutPlaintextResponse;
    },
  });
}

/** A data key pair whose private key is sealed under the key's current material. */
async function newDataKeyPair(kms: Kms, key: KeyRecord, i: GenerateDataKeyPairWithoutPlaintextRequest, op: string) {
  checkKeyState(key, "use");
  requireSymmetric(key, op);
  const spec = i.KeyPairSpec!;
  if (!keySpecInfo(spec)) throw new ServiceError("UnsupportedOperationException", `KeyPairSpec ${spec} is supported only in China Regions.`, 400);
  if (i.DryRun) throw err.dryRun();
  const privateDer = await generateKeyMaterialAsync(spec);
  const sealed = seal(kms, key, privateDer, i.EncryptionContext);
  return { privateDer, publicDer: publicKeyDer(spec, privateDer), blob: sealed.blob, materialId: sealed.materialId, spec };
}

function generateDataKeyPairOperation(kms: Kms) {
  return defineOperation<GenerateDataKeyPairRequest, GenerateDataKeyPairResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKeyInUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "GenerateDataKeyPair", i.EncryptionContext, { "kms:DataKeyPairSpec": i.KeyPairSpec })],
    handler: async function generateDataKeyPair(_ctx, i, { key }) {
      const r = await newDataKeyPair(kms, key, i, "GenerateDataKeyPair");
      return {
        PrivateKeyCiphertextBlob: r.blob,
        PrivateKeyPlaintext: r.privateDer,
        PublicKey: r.publicDer,
        KeyId: key.arn,
        KeyPairSpec: r.spec,
        KeyMaterialId: r.materialId,
      } as GenerateDataKeyPairResponse;
    },
  });
}

function generateDataKeyPairWithoutPlaintextOperation(kms: Kms) {
  return defineOperation<GenerateDataKeyPairWithoutPlaintextRequest, GenerateDataKeyPairWithoutPlaintextResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKeyInUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "GenerateDataKeyPairWithoutPlaintext", i.EncryptionContext, { "kms:DataKeyPairSpec": i.KeyPairSpec })],
    handler: async function generateDataKeyPairWithoutPlaintext(_ctx, i, { key }) {
      const r = await newDataKeyPair(kms, key, i, "GenerateDataKeyPairWithoutPlaintext");
      r.privateDer.fill(0);
      return {
        PrivateKeyCiphertextBlob: r.blob,
        PublicKey: r.publicDer,
        KeyId: key.arn,
        KeyPairSpec: r.spec,
        KeyMaterialId: r.materialId,
      } as GenerateDataKeyPairWithoutPlaintextResponse;
    },
  });
}

function generateRandomOperation() {
  return defineOperation<GenerateRandomRequest, GenerateRandomResponse>({
    readOnly: true,
    authorize: () => [iamCheck("GenerateRandom")],
    handler: function generateRandomBytes(_ctx, i) {
      rejectRecipient(i);
      if (i.CustomKeyStoreId !== undefined) {
        throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${i.CustomKeyStoreId} does not exist in this account and region.`, 400);
      }
      return { Plaintext: generateRandom(i.NumberOfBytes) };
    },
  });
}

export function cryptoOperations(kms: Kms) {
  return {
    Encrypt: encryptOperation(kms),
    Decrypt: decryptOperation(kms),
    ReEncrypt: reEncryptOperation(kms),
    GenerateDataKey: generateDataKeyOperation(kms),
    GenerateDataKeyWithoutPlaintext: generateDataKeyWithoutPlaintextOperation(kms),
    GenerateDataKeyPair: generateDataKeyPairOperation(kms),
    GenerateDataKeyPairWithoutPlaintext: generateDataKeyPairWithoutPlaintextOperation(kms),
    GenerateRandom: generateRandomOperation(),
  };
}
