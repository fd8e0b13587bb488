/**
 * Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
 * GenerateDataKeyPair(WithoutPlaintext), GenerateRandom, Sign, Verify, GetPublicKey,
 * GenerateMac, VerifyMac. Real cryptography through ./crypto; plaintext and data keys exist only
 * in the response (never in CloudTrail, logs or the store).
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
  GenerateMacRequest,
  GenerateMacResponse,
  GenerateRandomRequest,
  GenerateRandomResponse,
  GetPublicKeyRequest,
  GetPublicKeyResponse,
  ReEncryptRequest,
  ReEncryptResponse,
  SignRequest,
  SignResponse,
  VerifyMacRequest,
  VerifyMacResponse,
  VerifyRequest,
  VerifyResponse,
} from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import { defaultRequestParameters } from "../../audit/record.ts";
import { kmsShapes } from "../../protocol/shapes/kms.gen.ts";
import type { AuthCheck, OperationDef, RequestContext } from "../types.ts";
import { setKeyResources, type Kms } from "./core.ts";
import {
  generateKeyMaterialAsync,
  generateMac,
  keySpecInfo,
  publicKeyDer,
  requireEncryptionAlgorithm,
  requireSigningAlgorithm,
  rsaDecrypt,
  rsaEncrypt,
  sign,
  verify,
  verifyMac,
} from "./crypto/asymmetric.ts";
import { materialIdHex, openSymmetric, parseCiphertext, sealSymmetric } from "./crypto/ciphertext.ts";
import { dataKeyLength, generateDataKey, generateRandom } from "./crypto/random.ts";
import { checkGrantTokens } from "./grants.ts";
import { algorithmsFor, currentMaterial, openMaterial } from "./material.ts";
import { iamCheck, keyCheck } from "./policy.ts";
import { resolveKey, scopeOf, type Resolved } from "./resolve.ts";
import { checkKeyState, err, type KeyRecord } from "./state.ts";

type EC = Record<string, string> | undefined;

function requireUsage(key: KeyRecord, usage: string, op: string): void {
  if (key.keyUsage !== usage) throw err.keyUsage(key.arn, key.keyUsage, op);
}

/** Symmetric encryption keys only (GenerateDataKey*, GenerateDataKeyPair*). */
function requireSymmetric(key: KeyRecord, op: string): void {
  requireUsage(key, "ENCRYPT_DECRYPT", op);
  if (key.keySpec !== "SYMMETRIC_DEFAULT") throw err.keySpec(key.arn, key.keySpec, op);
}

function isSymmetric(key: KeyRecord): boolean {
  return key.keySpec === "SYMMETRIC_DEFAULT";
}

function noContextForAsymmetric(key: KeyRecord, ec: EC): void {
  if (!isSymmetric(key) && ec && Object.keys(ec).length) {
    throw err.validation(`EncryptionContext is not supported for asymmetric KMS keys; ${key.arn} has KeySpec ${key.keySpec}.`);
  }
}

function rejectRecipient(input: { Recipient?: unknown }): void {
  if (input.Recipient !== undefined) {
    throw new ServiceError("UnsupportedOperationException", "Recipient (AWS Nitro Enclaves attestation) is not supported by localfargate: there is no enclave to attest.", 400);
  }
}

/** CloudTrail requestParameters: the default (blobs, tokens left out) plus the algorithm AWS always logs. */
function withAlgorithms(shape: string, members: Record<string, string>) {
  return (input: Record<string, unknown>): unknown => {
    const base = (defaultRequestParameters(kmsShapes, shape, input) as Record<string, unknown> | null) ?? {};
    for (const [member, param] of Object.entries(members)) base[param] = (input[member] as string | undefined) ?? "SYMMETRIC_DEFAULT";
    return base;
  };
}

export function cryptoOperations(kms: Kms): Record<string, OperationDef> {
  const { state, sealer } = kms;
  const use = (ctx: RequestContext, id: string): Resolved => resolveKey(state, scopeOf(ctx), id, { aliases: true });

  /** The symmetric material a ciphertext names, or InvalidCiphertextException. */
  function materialFor(key: KeyRecord, materialId: string): Buffer {
    const raw = openMaterial(state, sealer, key, materialId);
    if (!raw) throw err.invalidCiphertext();
    return raw;
  }

  function current(key: KeyRecord): { id: string; raw: Buffer } {
    const m = currentMaterial(state, sealer, key);
    if (!m) throw err.pendingImport(key.arn);
    return m;
  }

  /** New symmetric ciphertext under the key's current material. */
  function seal(key: KeyRecord, plaintext: Buffer, ec: EC): { blob: Buffer; materialId: string } {
    const m = current(key);
    return { blob: sealSymmetric(key.arn, Buffer.from(m.id, "hex"), m.raw, plaintext, ec), materialId: m.id };
  }

  /**
   * Which key a ciphertext is for: the named key when it is asymmetric (RSA ciphertexts carry
   * no metadata), else the key in the blob's header. A named key that differs from the blob's →
   * IncorrectKeyException; a blob naming a key that does not exist here → AccessDeniedException
   * with AWS's text.
   */
  function decryptTarget(ctx: RequestContext, blob: Buffer, keyId: string | undefined): { key: KeyRecord; alias?: string; materialId?: string } {
    const named = keyId !== undefined ? use(ctx, keyId) : undefined;
    if (named && !isSymmetric(named.key)) return { key: named.key, alias: named.alias };
    const parsed = parseCiphertext(blob);
    if (named && named.key.arn !== parsed.keyArn) throw err.incorrectKey();
    const key = state.keys.get(parsed.keyArn);
    if (!key || key.region !== ctx.region) throw err.unknownCiphertextKey();
    return { key, alias: named?.alias, materialId: materialIdHex(parsed.materialId) };
  }

  /** Decrypts for Decrypt / ReEncrypt (state and usage already checked). */
  function decryptWith(key: KeyRecord, target: { materialId?: string }, blob: Buffer, ec: EC, algorithm: string | undefined): { plaintext: Buffer; materialId?: string; algorithm: string } {
    const alg = requireEncryptionAlgorithm(key.keySpec, algorithm ?? "SYMMETRIC_DEFAULT");
    if (isSymmetric(key)) {
      const materialId = target.materialId!;
      return { plaintext: openSymmetric(blob, materialFor(key, materialId), ec), materialId, algorithm: alg };
    }
    noContextForAsymmetric(key, ec);
    return { plaintext: rsaDecrypt(key.keySpec, current(key).raw, alg, blob), algorithm: alg };
  }

  function encryptWith(key: KeyRecord, plaintext: Buffer, ec: EC, algorithm: string | undefined): { blob: Buffer; materialId?: string; algorithm: string } {
    const alg = requireEncryptionAlgorithm(key.keySpec, algorithm ?? "SYMMETRIC_DEFAULT");
    if (isSymmetric(key)) {
      const s = seal(key, plaintext, ec);
      return { blob: s.blob, materialId: s.materialId, algorithm: alg };
    }
    noContextForAsymmetric(key, ec);
    return { blob: rsaEncrypt(key.keySpec, current(key).raw, alg, plaintext), algorithm: alg };
  }

  function check(ctx: RequestContext, r: Resolved, action: string, ec?: EC, context?: AuthCheck["context"]): AuthCheck {
    return keyCheck(ctx, state, r.key, action, { alias: r.alias, encryptionContext: ec, grantOperation: action, context });
  }

  async function dataKeyPair(ctx: RequestContext, input: GenerateDataKeyPairRequest, op: string) {
    const key = use(ctx, input.KeyId!).key;
    setKeyResources(ctx, key);
    checkKeyState(key, "use");
    requireSymmetric(key, op);
    const spec = input.KeyPairSpec!;
    if (!keySpecInfo(spec)) throw new ServiceError("UnsupportedOperationException", `KeyPairSpec ${spec} is supported only in China Regions.`, 400);
    if (input.DryRun) throw err.dryRun();
    const privateDer = await generateKeyMaterialAsync(spec);
    const sealed = seal(key, privateDer, input.EncryptionContext);
    return { key, privateDer, publicDer: publicKeyDer(spec, privateDer), blob: sealed.blob, materialId: sealed.materialId, spec };
  }

  return {
    Encrypt: {
      readOnly: true,
      authorize(ctx, input: EncryptRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "Encrypt", input.EncryptionContext, { "kms:EncryptionAlgorithm": input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT" });
      },
      handler(ctx, input: EncryptRequest): EncryptResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireUsage(key, "ENCRYPT_DECRYPT", "Encrypt");
        requireEncryptionAlgorithm(key.keySpec, input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
        noContextForAsymmetric(key, input.EncryptionContext);
        if (input.DryRun) throw err.dryRun();
        const out = encryptWith(key, Buffer.from(input.Plaintext!), input.EncryptionContext, input.EncryptionAlgorithm);
        return { CiphertextBlob: out.blob, KeyId: key.arn, EncryptionAlgorithm: out.algorithm as EncryptResponse["EncryptionAlgorithm"] };
      },
      requestParameters: withAlgorithms("EncryptRequest", { EncryptionAlgorithm: "encryptionAlgorithm" }),
    },

    Decrypt: {
      readOnly: true,
      authorize(ctx, input: DecryptRequest) {
        checkGrantTokens(input.GrantTokens);
        rejectRecipient(input);
        const t = decryptTarget(ctx, Buffer.from(input.CiphertextBlob!), input.KeyId);
        return check(ctx, { key: t.key, alias: t.alias }, "Decrypt", input.EncryptionContext, { "kms:EncryptionAlgorithm": input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT" });
      },
      handler(ctx, input: DecryptRequest): DecryptResponse {
        const blob = Buffer.from(input.CiphertextBlob!);
        const t = decryptTarget(ctx, blob, input.KeyId);
        const key = t.key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireUsage(key, "ENCRYPT_DECRYPT", "Decrypt");
        requireEncryptionAlgorithm(key.keySpec, input.EncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
        if (input.DryRun) throw err.dryRun();
        const out = decryptWith(key, t, blob, input.EncryptionContext, input.EncryptionAlgorithm);
        const res: DecryptResponse & { KeyMaterialId?: string } = {
          KeyId: key.arn,
          Plaintext: out.plaintext,
          EncryptionAlgorithm: out.algorithm as DecryptResponse["EncryptionAlgorithm"],
        };
        if (out.materialId) res.KeyMaterialId = out.materialId;
        return res;
      },
      requestParameters: withAlgorithms("DecryptRequest", { EncryptionAlgorithm: "encryptionAlgorithm" }),
    },

    ReEncrypt: {
      readOnly: true,
      authorize(ctx, input: ReEncryptRequest) {
        checkGrantTokens(input.GrantTokens);
        const src = decryptTarget(ctx, Buffer.from(input.CiphertextBlob!), input.SourceKeyId);
        const dst = use(ctx, input.DestinationKeyId!);
        const same = { "kms:ReEncryptOnSameKey": src.key.arn === dst.key.arn };
        return [
          check(ctx, { key: src.key, alias: src.alias }, "ReEncryptFrom", input.SourceEncryptionContext, same),
          check(ctx, dst, "ReEncryptTo", input.DestinationEncryptionContext, same),
        ];
      },
      handler(ctx, input: ReEncryptRequest): ReEncryptResponse {
        const blob = Buffer.from(input.CiphertextBlob!);
        const src = decryptTarget(ctx, blob, input.SourceKeyId);
        const dst = use(ctx, input.DestinationKeyId!).key;
        setKeyResources(ctx, src.key, dst);
        checkKeyState(src.key, "use");
        requireUsage(src.key, "ENCRYPT_DECRYPT", "ReEncrypt");
        checkKeyState(dst, "use");
        requireUsage(dst, "ENCRYPT_DECRYPT", "ReEncrypt");
        requireEncryptionAlgorithm(src.key.keySpec, input.SourceEncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
        requireEncryptionAlgorithm(dst.keySpec, input.DestinationEncryptionAlgorithm ?? "SYMMETRIC_DEFAULT");
        noContextForAsymmetric(dst, input.DestinationEncryptionContext);
        if (input.DryRun) throw err.dryRun();
        const plain = decryptWith(src.key, src, blob, input.SourceEncryptionContext, input.SourceEncryptionAlgorithm);
        const out = encryptWith(dst, plain.plaintext, input.DestinationEncryptionContext, input.DestinationEncryptionAlgorithm);
        plain.plaintext.fill(0);
        const res: ReEncryptResponse & Record<string, unknown> = {
          CiphertextBlob: out.blob,
          SourceKeyId: src.key.arn,
          KeyId: dst.arn,
          SourceEncryptionAlgorithm: plain.algorithm as ReEncryptResponse["SourceEncryptionAlgorithm"],
          DestinationEncryptionAlgorithm: out.algorithm as ReEncryptResponse["DestinationEncryptionAlgorithm"],
        };
        if (plain.materialId) res.SourceKeyMaterialId = plain.materialId;
        if (out.materialId) res.DestinationKeyMaterialId = out.materialId;
        return res;
      },
      requestParameters: withAlgorithms("ReEncryptRequest", {
        SourceEncryptionAlgorithm: "sourceEncryptionAlgorithm",
        DestinationEncryptionAlgorithm: "destinationEncryptionAlgorithm",
      }),
    },

    GenerateDataKey: {
      readOnly: true,
      authorize(ctx, input: GenerateDataKeyRequest) {
        checkGrantTokens(input.GrantTokens);
        rejectRecipient(input);
        return check(ctx, use(ctx, input.KeyId!), "GenerateDataKey", input.EncryptionContext);
      },
      handler(ctx, input: GenerateDataKeyRequest): GenerateDataKeyResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireSymmetric(key, "GenerateDataKey");
        const size = dataKeyLength(input.KeySpec, input.NumberOfBytes);
        if (input.DryRun) throw err.dryRun();
        const plaintext = generateDataKey(undefined, size);
        const s = seal(key, plaintext, input.EncryptionContext);
        return { CiphertextBlob: s.blob, Plaintext: plaintext, KeyId: key.arn, KeyMaterialId: s.materialId } as GenerateDataKeyResponse;
      },
    },

    GenerateDataKeyWithoutPlaintext: {
      readOnly: true,
      authorize(ctx, input: GenerateDataKeyWithoutPlaintextRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "GenerateDataKeyWithoutPlaintext", input.EncryptionContext);
      },
      handler(ctx, input: GenerateDataKeyWithoutPlaintextRequest): GenerateDataKeyWithoutPlaintextResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireSymmetric(key, "GenerateDataKeyWithoutPlaintext");
        const size = dataKeyLength(input.KeySpec, input.NumberOfBytes);
        if (input.DryRun) throw err.dryRun();
        const plaintext = generateDataKey(undefined, size);
        const s = seal(key, plaintext, input.EncryptionContext);
        plaintext.fill(0);
        return { CiphertextBlob: s.blob, KeyId: key.arn, KeyMaterialId: s.materialId } as GenerateDataKeyWithoutPlaintextResponse;
      },
    },

    GenerateDataKeyPair: {
      readOnly: true,
      authorize(ctx, input: GenerateDataKeyPairRequest) {
        checkGrantTokens(input.GrantTokens);
        rejectRecipient(input);
        return check(ctx, use(ctx, input.KeyId!), "GenerateDataKeyPair", input.EncryptionContext, { "kms:DataKeyPairSpec": input.KeyPairSpec });
      },
      async handler(ctx, input: GenerateDataKeyPairRequest): Promise<GenerateDataKeyPairResponse> {
        const r = await dataKeyPair(ctx, input, "GenerateDataKeyPair");
        return {
          PrivateKeyCiphertextBlob: r.blob,
          PrivateKeyPlaintext: r.privateDer,
          PublicKey: r.publicDer,
          KeyId: r.key.arn,
          KeyPairSpec: r.spec,
          KeyMaterialId: r.materialId,
        } as GenerateDataKeyPairResponse;
      },
    },

    GenerateDataKeyPairWithoutPlaintext: {
      readOnly: true,
      authorize(ctx, input: GenerateDataKeyPairWithoutPlaintextRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "GenerateDataKeyPairWithoutPlaintext", input.EncryptionContext, { "kms:DataKeyPairSpec": input.KeyPairSpec });
      },
      async handler(ctx, input: GenerateDataKeyPairWithoutPlaintextRequest): Promise<GenerateDataKeyPairWithoutPlaintextResponse> {
        const r = await dataKeyPair(ctx, input, "GenerateDataKeyPairWithoutPlaintext");
        r.privateDer.fill(0);
        return { PrivateKeyCiphertextBlob: r.blob, PublicKey: r.publicDer, KeyId: r.key.arn, KeyPairSpec: r.spec, KeyMaterialId: r.materialId } as GenerateDataKeyPairWithoutPlaintextResponse;
      },
    },

    GenerateRandom: {
      readOnly: true,
      authorize: () => iamCheck("GenerateRandom"),
      handler(_ctx, input: GenerateRandomRequest): GenerateRandomResponse {
        rejectRecipient(input);
        if (input.CustomKeyStoreId !== undefined) {
          throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${input.CustomKeyStoreId} does not exist in this account and region.`, 400);
        }
        return { Plaintext: generateRandom(input.NumberOfBytes) };
      },
    },

    Sign: {
      readOnly: true,
      authorize(ctx, input: SignRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "Sign", undefined, { "kms:SigningAlgorithm": input.SigningAlgorithm, "kms:MessageType": input.MessageType ?? "RAW" });
      },
      handler(ctx, input: SignRequest): SignResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireUsage(key, "SIGN_VERIFY", "Sign");
        const material = current(key).raw;
        if (input.DryRun) {
          requireSigningAlgorithm(key.keySpec, input.SigningAlgorithm!);
          throw err.dryRun();
        }
        const signature = sign(key.keySpec, material, Buffer.from(input.Message!), input.MessageType ?? "RAW", input.SigningAlgorithm!);
        return { KeyId: key.arn, Signature: signature, SigningAlgorithm: input.SigningAlgorithm };
      },
    },

    Verify: {
      readOnly: true,
      authorize(ctx, input: VerifyRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "Verify", undefined, { "kms:SigningAlgorithm": input.SigningAlgorithm, "kms:MessageType": input.MessageType ?? "RAW" });
      },
      handler(ctx, input: VerifyRequest): VerifyResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireUsage(key, "SIGN_VERIFY", "Verify");
        const material = current(key).raw;
        const ok = verify(key.keySpec, material, Buffer.from(input.Message!), input.MessageType ?? "RAW", input.SigningAlgorithm!, Buffer.from(input.Signature!));
        if (input.DryRun) throw err.dryRun();
        if (!ok) throw new ServiceError("KMSInvalidSignatureException", "", 400);
        return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
      },
    },

    GetPublicKey: {
      readOnly: true,
      authorize(ctx, input: GetPublicKeyRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "GetPublicKey");
      },
      handler(ctx, input: GetPublicKeyRequest): GetPublicKeyResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        const info = keySpecInfo(key.keySpec);
        if (!info || (info.kind !== "rsa" && info.kind !== "ecc")) {
          throw new ServiceError("UnsupportedOperationException", `${key.arn} key spec is ${key.keySpec} which is not valid for GetPublicKey.`, 400);
        }
        return {
          KeyId: key.arn,
          PublicKey: publicKeyDer(key.keySpec, current(key).raw),
          CustomerMasterKeySpec: key.keySpec as GetPublicKeyResponse["CustomerMasterKeySpec"],
          KeySpec: key.keySpec,
          KeyUsage: key.keyUsage,
          ...algorithmsFor(key.keySpec, key.keyUsage),
        };
      },
    },

    GenerateMac: {
      readOnly: true,
      authorize(ctx, input: GenerateMacRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "GenerateMac", undefined, { "kms:MacAlgorithm": input.MacAlgorithm });
      },
      handler(ctx, input: GenerateMacRequest): GenerateMacResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireUsage(key, "GENERATE_VERIFY_MAC", "GenerateMac");
        const material = current(key).raw;
        const mac = generateMac(key.keySpec, material, Buffer.from(input.Message!), input.MacAlgorithm!);
        if (input.DryRun) throw err.dryRun();
        return { Mac: mac, MacAlgorithm: input.MacAlgorithm, KeyId: key.arn };
      },
    },

    VerifyMac: {
      readOnly: true,
      authorize(ctx, input: VerifyMacRequest) {
        checkGrantTokens(input.GrantTokens);
        return check(ctx, use(ctx, input.KeyId!), "VerifyMac", undefined, { "kms:MacAlgorithm": input.MacAlgorithm });
      },
      handler(ctx, input: VerifyMacRequest): VerifyMacResponse {
        const key = use(ctx, input.KeyId!).key;
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        requireUsage(key, "GENERATE_VERIFY_MAC", "VerifyMac");
        const material = current(key).raw;
        const ok = verifyMac(key.keySpec, material, Buffer.from(input.Message!), input.MacAlgorithm!, Buffer.from(input.Mac!));
        if (input.DryRun) throw err.dryRun();
        if (!ok) throw new ServiceError("KMSInvalidMacException", "", 400);
        return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
      },
    },
  };
}
