/**
 * Signing and MAC operations: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, with real
 * asymmetric and HMAC cryptography through ./crypto. Checks in the same order as the encryption
 * operations (crypto-ops.ts).
 */
import type {
  GenerateMacRequest,
  GenerateMacResponse,
  GetPublicKeyRequest,
  GetPublicKeyResponse,
  SignRequest,
  SignResponse,
  VerifyMacRequest,
  VerifyMacResponse,
  VerifyRequest,
  VerifyResponse,
} from "@aws-sdk/client-kms";
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { namingKeys, type Kms } from "./core.ts";
import { generateMac, keySpecInfo, publicKeyDer, requireSigningAlgorithm, sign, verify, verifyMac } from "./crypto/asymmetric.ts";
import { checkGrantTokens } from "./grants.ts";
import { current, keyInUse, requireUsage, useCheck } from "./key-use.ts";
import { algorithmsFor } from "./material.ts";
import type { Resolved } from "./resolve.ts";
import { checkKeyState, err } from "./state.ts";

function resolveUse(kms: Kms, ctx: RequestContext, i: { KeyId?: string; GrantTokens?: string[] }): Resolved {
  checkGrantTokens(i.GrantTokens);
  const r = keyInUse(kms, ctx, i.KeyId!);
  return namingKeys(ctx, r, r.key);
}

function signOperation(kms: Kms) {
  return defineOperation<SignRequest, SignResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => resolveUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "Sign", undefined, { "kms:SigningAlgorithm": i.SigningAlgorithm, "kms:MessageType": i.MessageType ?? "RAW" })],
    handler: function signMessage(_ctx, i, { key }) {
      checkKeyState(key, "use");
      requireUsage(key, "SIGN_VERIFY", "Sign");
      const material = current(kms, key).raw;
      if (i.DryRun) {
        requireSigningAlgorithm(key.keySpec, i.SigningAlgorithm!);
        throw err.dryRun();
      }
      const signature = sign(key.keySpec, material, Buffer.from(i.Message!), i.MessageType ?? "RAW", i.SigningAlgorithm!);
      return { KeyId: key.arn, Signature: signature, SigningAlgorithm: i.SigningAlgorithm };
    },
  });
}

function verifyOperation(kms: Kms) {
  return defineOperation<VerifyRequest, VerifyResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => resolveUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "Verify", undefined, { "kms:SigningAlgorithm": i.SigningAlgorithm, "kms:MessageType": i.MessageType ?? "RAW" })],
    handler: function verifySignature(_ctx, i, { key }) {
      checkKeyState(key, "use");
      requireUsage(key, "SIGN_VERIFY", "Verify");
      const material = current(kms, key).raw;
      const ok = verify(key.keySpec, material, Buffer.from(i.Message!), i.MessageType ?? "RAW", i.SigningAlgorithm!, Buffer.from(i.Signature!));
      if (i.DryRun) throw err.dryRun();
      if (!ok) throw new ServiceError("KMSInvalidSignatureException", "", 400);
      return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: i.SigningAlgorithm };
    },
  });
}

function getPublicKeyOperation(kms: Kms) {
  return defineOperation<GetPublicKeyRequest, GetPublicKeyResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => resolveUse(kms, ctx, i),
    authorize: (ctx, _i, r) => [useCheck(ctx, kms, r, "GetPublicKey")],
    handler: function getPublicKey(_ctx, _i, { key }) {
      checkKeyState(key, "use");
      const info = keySpecInfo(key.keySpec);
      if (!info || (info.kind !== "rsa" && info.kind !== "ecc")) {
        throw new ServiceError("UnsupportedOperationException", `${key.arn} key spec is ${key.keySpec} which is not valid for GetPublicKey.`, 400);
      }
      return {
        KeyId: key.arn,
        PublicKey: publicKeyDer(key.keySpec, current(kms, key).raw),
        CustomerMasterKeySpec: key.keySpec as GetPublicKeyResponse["CustomerMasterKeySpec"],
        KeySpec: key.keySpec,
        KeyUsage: key.keyUsage,
        ...algorithmsFor(key.keySpec, key.keyUsage),
      };
    },
  });
}

function generateMacOperation(kms: Kms) {
  return defineOperation<GenerateMacRequest, GenerateMacResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => resolveUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "GenerateMac", undefined, { "kms:MacAlgorithm": i.MacAlgorithm })],
    handler: function generateMacTag(_ctx, i, { key }) {
      checkKeyState(key, "use");
      requireUsage(key, "GENERATE_VERIFY_MAC", "GenerateMac");
      const material = current(kms, key).raw;
      const mac = generateMac(key.keySpec, material, Buffer.from(i.Message!), i.MacAlgorithm!);
      if (i.DryRun) throw err.dryRun();
      return { Mac: mac, MacAlgorithm: i.MacAlgorithm, KeyId: key.arn };
    },
  });
}

function verifyMacOperation(kms: Kms) {
  return defineOperation<VerifyMacRequest, VerifyMacResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => resolveUse(kms, ctx, i),
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "VerifyMac", undefined, { "kms:MacAlgorithm": i.MacAlgorithm })],
    handler: function verifyMacTag(_ctx, i, { key }) {
      checkKeyState(key, "use");
      requireUsage(key, "GENERATE_VERIFY_MAC", "VerifyMac");
      const material = current(kms, key).raw;
      const ok = verifyMac(key.keySpec, material, Buffer.from(i.Message!), i.MacAlgorithm!, Buffer.from(i.Mac!));
      if (i.DryRun) throw err.dryRun();
      if (!ok) throw new ServiceError("KMSInvalidMacException", "", 400);
      return { KeyId: key.arn, MacValid: true, MacAlgorithm: i.MacAlgorithm };
    },
  });
}

export function signingOperations(kms: Kms) {
  return {
    Sign: signOperation(kms),
    Verify: verifyOperation(kms),
    GetPublicKey: getPublicKeyOperation(kms),
    GenerateMac: generateMacOperation(kms),
    VerifyMac: verifyMacOperation(kms),
  };
}
