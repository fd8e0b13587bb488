/**
 * KMS in-memory state (keys, aliases, grants, import parameters), identifiers and the key-state
 * table (docs/kms.md#key-states) with AWS's messages. Everything here is persisted through the store by
 * the operation modules; key material is only ever held sealed under the data dir's root key.
 */
import { ServiceError } from "../../kernel/errors.ts";
import type { KeySpec, KeyState, KeyUsageType, OriginType, Tag } from "@aws-sdk/client-kms";
import { IndexedMap } from "../../store/ordered-index.ts";

export const KIND_KEY = "kms.key";
export const KIND_ALIAS = "kms.alias";
export const KIND_GRANT = "kms.grant";
export const KIND_IMPORT = "kms.import";

/** One version of a key's cryptographic material (the first one, or one made by rotation). */
export interface MaterialRecord {
  /** KeyMaterialId: 64 lower-case hex digits; also written into every ciphertext header */
  id: string;
  /** the material (raw AES/HMAC key, or PKCS#8 DER private key) sealed under the root key */
  sealed: Buffer;
  createdAt: Date;
  /** set for material made by rotation */
  rotationType?: "AUTOMATIC" | "ON_DEMAND";
  /** EXTERNAL keys: material present (IMPORTED) or deleted/expired (PENDING_IMPORT) */
  importState?: "IMPORTED" | "PENDING_IMPORT";
  /** EXTERNAL symmetric keys: imported as NEW_KEY_MATERIAL, waiting for RotateKeyOnDemand (not yet the key's for good) */
  pendingRotation?: boolean;
  /** EXTERNAL keys: this material's own expiry (records made before materials had their own use the key's) */
  expirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  validTo?: Date;
  /** EXTERNAL symmetric keys: KeyMaterialDescription */
  description?: string;
}

export interface KeyRecord {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  creationDate: Date;
  description: string;
  keyUsage: KeyUsageType;
  keySpec: KeySpec;
  origin: OriginType;
  state: KeyState;
  multiRegion: boolean;
  policy: string;
  tags: Tag[];
  deletionDate?: Date;
  pendingWindowInDays?: number;
  materials: MaterialRecord[];
  currentMaterialId?: string;
  rotationEnabled: boolean;
  rotationPeriodInDays?: number;
  nextRotationDate?: Date;
  onDemandRotations: number;
  /** EXTERNAL keys */
  expirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE";
  validTo?: Date;
  /** "AWS" for an AWS managed key (aws-managed-keys.ts, aws-managed.ts); absent for customer managed keys */
  keyManager?: "AWS";
  /** EXTERNAL keys: HMAC of the first imported material, to recognise a re-import of the same material */
  importFingerprint?: string;
  /** multi-Region keys: this copy's role (absent on records made before replicas existed: PRIMARY) */
  multiRegionKeyType?: "PRIMARY" | "REPLICA";
  /** a replica in the transient Creating state: when it becomes usable (service clock) */
  readyAt?: Date;
}

export interface AliasRecord {
  aliasName: string;
  aliasArn: string;
  accountId: string;
  region: string;
  targetKeyArn: string;
  creationDate: Date;
  lastUpdatedDate: Date;
}

export interface GrantConstraintsRecord {
  EncryptionContextSubset?: Record<string, string>;
  EncryptionContextEquals?: Record<string, string>;
}

export interface GrantRecord {
  grantId: string;
  keyArn: string;
  /** the account in which the grant was created (the key's account) */
  issuingAccount: string;
  name?: string;
  creationDate: Date;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: GrantConstraintsRecord;
}

/** Parameters from GetParametersForImport: the wrapping key pair behind one import token. */
export interface ImportParamsRecord {
  /** id of the token (hex); the token blob names it */
  tokenId: string;
  keyArn: string;
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** the wrapping private key (PKCS#8 DER) sealed under the root key */
  sealedPrivateKey: Buffer;
  validTo: Date;
}

/** The scope every KMS list is confined to: the caller's account in the request's region. */
export function kmsScope(accountId: string, region: string): string {
  return `${accountId}|${region}`;
}

/** A sort key from a date and a tie-breaking id: fixed-width millis, then the id. */
export function dateKey(d: Date, id: string): string {
  return `${String(d.getTime()).padStart(15, "0")}|${id}`;
}

/** Keys by key ARN, ordered per account and region by creation (the order ListKeys pages in), and the Regional copies of each multi-Region key. */
export class KeyMap extends IndexedMap<string, KeyRecord, "byCreation" | "byMultiRegionKey"> {
  constructor() {
    super({
      byCreation: { scope: (k) => kmsScope(k.accountId, k.region), key: (k) => dateKey(k.creationDate, k.keyId) },
      byMultiRegionKey: { scope: (k) => (k.multiRegion ? kmsScope(k.accountId, k.keyId) : undefined), key: (k) => k.region },
    });
  }

  /** Every Regional copy (primary and replicas) of the multi-Region key `keyId`, by Region. */
  copiesOf(accountId: string, keyId: string): KeyRecord[] {
    return this.index("byMultiRegionKey").all(kmsScope(accountId, keyId));
  }
}

/**
 * Aliases by alias ARN, ordered per account and region by name (ListAliases), and by target key:
 * every key-scoped call names the key's aliases in kms:ResourceAliases, which must not cost a
 * scan of every alias in the account.
 */
export class AliasMap extends IndexedMap<string, AliasRecord, "byName" | "byKey"> {
  constructor() {
    super({
      byName: { scope: (a) => kmsScope(a.accountId, a.region), key: (a) => a.aliasName },
      byKey: { scope: (a) => a.targetKeyArn, key: (a) => a.aliasName },
    });
  }

  forKey(keyArn: string): AliasRecord[] {
    return this.index("byKey").all(keyArn);
  }
}

/** ListRetirableGrants' scope: a retiring principal's grants on keys of one Region (a key ARN's fourth field). */
export function retirableScope(retiringPrincipal: string, region: string): string {
  return `${retiringPrincipal}|${region}`;
}

/** Grants by grant id, ordered by creation per key (ListGrants) and per retiring principal and Region (ListRetirableGrants). */
export class GrantMap extends IndexedMap<string, GrantRecord, "byKey" | "byRetiringPrincipal"> {
  constructor() {
    super({
      byKey: { scope: (g) => g.keyArn, key: (g) => dateKey(g.creationDate, g.grantId) },
      byRetiringPrincipal: {
        scope: (g) => (g.retiringPrincipal ? retirableScope(g.retiringPrincipal, g.keyArn.split(":")[3] ?? "") : undefined),
        key: (g) => dateKey(g.creationDate, g.grantId),
      },
    });
  }
}

export class KmsState {
  readonly keys = new KeyMap();
  readonly aliases = new AliasMap();
  /** a key may hold 50,000 grants: every per-key question goes through the byKey index */
  readonly grants = new GrantMap();
  readonly importParams = new Map<string, ImportParamsRecord>();
  /** opened material, by material id: lives only in memory */
  readonly openMaterial = new Map<string, Buffer>();

  addGrant(g: GrantRecord): void {
    this.grants.set(g.grantId, g);
  }

  removeGrant(g: GrantRecord): void {
    this.grants.delete(g.grantId);
  }

  grantCount(keyArn: string): number {
    return this.grants.index("byKey").size(keyArn);
  }

  grantsForKey(keyArn: string): GrantRecord[] {
    return this.grants.index("byKey").all(keyArn);
  }

  aliasesForKey(keyArn: string): AliasRecord[] {
    return this.aliases.forKey(keyArn);
  }
}

// ---------------------------------------------------------------------------------------------
// identifiers

export const KEY_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MRK_ID_RE = /^mrk-[0-9a-f]{32}$/;
export const KMS_ARN_RE = /^arn:(aws[a-z-]*):kms:([a-z0-9-]*):(\d{12}):(key|alias)\/(.+)$/;
export const GRANT_ID_RE = /^[0-9a-f]{64}$/;

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}

export function isKeyId(v: string): boolean {
  return KEY_ID_RE.test(v) || MRK_ID_RE.test(v);
}

// ---------------------------------------------------------------------------------------------
// errors with AWS's texts (docs/kms.md#key-states, docs/kms.md#error-texts)

export const err = {
  notFoundKey: (arn: string) => new ServiceError("NotFoundException", `Key '${arn}' does not exist`, 400),
  invalidKeyId: (v: string) => new ServiceError("NotFoundException", `Invalid keyId '${v}'`, 400),
  invalidArnRegion: (region: string) => new ServiceError("NotFoundException", `Invalid arn ${region}`, 400),
  aliasNotFound: (arn: string) => new ServiceError("NotFoundException", `Alias ${arn} is not found.`, 400),
  disabled: (arn: string) => new ServiceError("DisabledException", `${arn} is disabled.`, 400),
  pendingDeletion: (arn: string) => new ServiceError("KMSInvalidStateException", `${arn} is pending deletion.`, 400),
  notPendingDeletion: (arn: string) => new ServiceError("KMSInvalidStateException", `${arn} is not pending deletion.`, 400),
  pendingReplicaDeletion: (arn: string) => new ServiceError("KMSInvalidStateException", `${arn} is pending replica deletion.`, 400),
  creating: (arn: string) => new ServiceError("KMSInvalidStateException", `${arn} is being created.`, 400),
  pendingImport: (arn: string) => new ServiceError("KMSInvalidStateException", `${arn} is pending import.`, 400),
  origin: (arn: string, origin: string) => new ServiceError("UnsupportedOperationException", `${arn} origin is ${origin} which is not valid for this operation.`, 400),
  keyUsage: (arn: string, usage: string, op: string) => new ServiceError("InvalidKeyUsageException", `${arn} key usage is ${usage} which is not valid for ${op}.`, 400),
  keySpec: (arn: string, spec: string, op: string) => new ServiceError("InvalidKeyUsageException", `${arn} key spec is ${spec} which is not valid for ${op}.`, 400),
  unsupported: (message = "") => new ServiceError("UnsupportedOperationException", message, 400),
  dryRun: () => new ServiceError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.", 400),
  invalidCiphertext: () => new ServiceError("InvalidCiphertextException", "", 400),
  incorrectKey: () => new ServiceError("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.", 400),
  unknownCiphertextKey: () =>
    new ServiceError(
      "AccessDeniedException",
      "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
      400,
      { capitalMessage: true },
    ),
  validation: (message: string) => new ServiceError("ValidationException", message, 400),
  invalidMarker: () => new ServiceError("InvalidMarkerException", "Invalid marker", 400),
  importTokenExpired: () => new ServiceError("ExpiredImportTokenException", "The import token is expired. Use GetParametersForImport to get a new one.", 400),
  incorrectKeyMaterial: () =>
    new ServiceError("IncorrectKeyMaterialException", "The key material in the request is not the same key material that was previously imported into this KMS key.", 400),
};

// ---------------------------------------------------------------------------------------------
// the key-state table (docs/kms.md#key-states)

/** How an operation behaves in each key state. */
export type StateRule =
  /** Encrypt, Decrypt, GenerateDataKey*, ReEncrypt, Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, CreateGrant */
  | "use"
  /** DescribeKey, GetKeyPolicy, PutKeyPolicy, ListGrants, RetireGrant, RevokeGrant, ListResourceTags, DeleteAlias ... */
  | "any"
  /** TagResource, UntagResource, UpdateKeyDescription, CreateAlias, ScheduleKeyDeletion, UpdateAlias (target) */
  | "notPendingDeletion"
  /** EnableKey, DisableKey */
  | "enableDisable"
  | "cancelDeletion"
  /** EnableKeyRotation, DisableKeyRotation */
  | "rotation"
  /** RotateKeyOnDemand */
  | "rotateOnDemand"
  | "rotationStatus"
  /** GetParametersForImport, ImportKeyMaterial */
  | "import"
  | "deleteImported";

export function checkKeyState(key: KeyRecord, rule: StateRule): void {
  const s = key.state;
  const arn = key.arn;
  switch (rule) {
    case "any":
      return;
    case "use":
      if (s === "Disabled") throw err.disabled(arn);
      if (s === "PendingDeletion") throw err.pendingDeletion(arn);
      if (s === "PendingReplicaDeletion") throw err.pendingReplicaDeletion(arn);
      if (s === "PendingImport") throw err.pendingImport(arn);
      if (s === "Creating") throw err.creating(arn);
      return;
    case "notPendingDeletion":
      if (s === "PendingDeletion") throw err.pendingDeletion(arn);
      if (s === "PendingReplicaDeletion") throw err.pendingReplicaDeletion(arn);
      return;
    case "enableDisable":
      if (s === "PendingDeletion") throw err.pendingDeletion(arn);
      if (s === "PendingReplicaDeletion") throw err.pendingReplicaDeletion(arn);
      if (s === "PendingImport") throw err.pendingImport(arn);
      if (s === "Creating") throw err.creating(arn);
      return;
    case "cancelDeletion":
      if (s !== "PendingDeletion" && s !== "PendingReplicaDeletion") throw err.notPendingDeletion(arn);
      return;
    case "rotateOnDemand":
      // the key's state is checked before its kind: a disabled asymmetric key is DisabledException
      if (s === "PendingImport") throw err.pendingImport(arn);
      if (s === "Disabled") throw err.disabled(arn);
      if (s === "PendingDeletion") throw err.pendingDeletion(arn);
      if (s === "PendingReplicaDeletion") throw err.pendingReplicaDeletion(arn);
      if (s === "Creating") throw err.creating(arn);
      // symmetric keys with imported material rotate on demand to material imported for it
      if (key.origin === "EXTERNAL" && key.keySpec === "SYMMETRIC_DEFAULT") return;
      return checkKeyState(key, "rotation");
    case "rotation":
      if (key.origin !== "AWS_KMS") throw err.origin(arn, key.origin);
      if (key.keySpec !== "SYMMETRIC_DEFAULT") throw err.unsupported();
      if (s === "Disabled") throw err.disabled(arn);
      if (s === "PendingDeletion") throw err.pendingDeletion(arn);
      if (s === "PendingReplicaDeletion") throw err.pendingReplicaDeletion(arn);
      return;
    case "rotationStatus":
      if (key.origin !== "AWS_KMS") throw err.origin(arn, key.origin);
      if (key.keySpec !== "SYMMETRIC_DEFAULT") throw err.unsupported();
      return;
    case "import":
      if (key.origin !== "EXTERNAL") throw err.origin(arn, key.origin);
      if (s === "PendingDeletion") throw err.pendingDeletion(arn);
      if (s === "PendingReplicaDeletion") throw err.pendingReplicaDeletion(arn);
      if (s === "Creating") throw err.creating(arn);
      return;
    case "deleteImported":
      if (key.origin !== "EXTERNAL") throw err.origin(arn, key.origin);
      return;
  }
}

/** KeyMetadata.Enabled */
export function isEnabled(key: KeyRecord): boolean {
  return key.state === "Enabled";
}
