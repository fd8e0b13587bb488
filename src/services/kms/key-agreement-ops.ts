/**
 * DeriveSharedSecret: ECDH between a KEY_AGREEMENT key's private key and a peer's public key
 * (docs/kms.md#key-agreement). Checks in the same order as the other key-use operations.
 */
import type { DeriveSharedSecretRequest, DeriveSharedSecretResponse } from "@aws-sdk/client-kms";
import { defineOperation } from "../../kernel/operation.ts";
import { namingKeys, type Kms } from "./core.ts";
import { deriveSharedSecret, peerPublicKey } from "./crypto/key-agreement.ts";
import { checkGrantTokens } from "./grants.ts";
import { current, keyInUse, rejectRecipient, requireUsage, useCheck } from "./key-use.ts";
import type { Resolved } from "./resolve.ts";
import { checkKeyState, err } from "./state.ts";

function deriveSharedSecretOperation(kms: Kms) {
  return defineOperation<DeriveSharedSecretRequest, DeriveSharedSecretResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => {
      checkGrantTokens(i.GrantTokens);
      rejectRecipient(i);
      const r = keyInUse(kms, ctx, i.KeyId!);
      return namingKeys(ctx, r, r.key);
    },
    authorize: (ctx, i, r) => [useCheck(ctx, kms, r, "DeriveSharedSecret", undefined, { "kms:KeyAgreementAlgorithm": i.KeyAgreementAlgorithm })],
    handler: function deriveShared(_ctx, i, { key }) {
      checkKeyState(key, "use");
      requireUsage(key, "KEY_AGREEMENT", "DeriveSharedSecret");
      const material = current(kms, key).raw;
      const peer = peerPublicKey(key.keySpec, Buffer.from(i.PublicKey!));
      if (peer === "malformed") throw err.validation("PublicKey must be a DER-encoded X.509 SubjectPublicKeyInfo public key.");
      if (peer === "curve") throw err.validation(`PublicKey must be an elliptic curve public key of the same key spec as ${key.arn} (${key.keySpec}).`);
      if (i.DryRun) throw err.dryRun();
      return { KeyId: key.arn, SharedSecret: deriveSharedSecret(material, peer), KeyAgreementAlgorithm: "ECDH", KeyOrigin: key.origin as DeriveSharedSecretResponse["KeyOrigin"] };
    },
  });
}

export function keyAgreementOperations(kms: Kms) {
  return { DeriveSharedSecret: deriveSharedSecretOperation(kms) };
}
