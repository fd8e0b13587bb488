/**
 * ECDH for KEY_AGREEMENT keys (DeriveSharedSecret): the raw shared secret of the key's private
 * key and a peer's public key on the same NIST curve
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html).
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import { keySpecInfo } from "./asymmetric.ts";

/** Why a peer public key cannot be used, or undefined when it can. */
export type PeerKeyProblem = "malformed" | "curve";

export function peerPublicKey(keySpec: string, der: Buffer): KeyObject | PeerKeyProblem {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  } catch {
    return "malformed";
  }
  const curve = keySpecInfo(keySpec)?.curve;
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== curve) return "curve";
  return key;
}

export function deriveSharedSecret(material: Buffer, peer: KeyObject): Buffer {
  const privateKey = createPrivateKey({ key: material, format: "der", type: "pkcs8" });
  return diffieHellman({ privateKey, publicKey: peer });
}
