/**
 * KMS (awsJson1_1, X-Amz-Target prefix TrentService, signing name kms): customer managed keys
 * with real cryptography, key policies, grants, aliases, rotation, imported key material and
 * the key lifecycle. Key material is sealed at rest under the data dir's root key.
 *
 * Other services use KMS through app.invoke (authorized and audited like any call); ECS's
 * attach-time checks may also use `resolveKeyForEcs` below (docs/kms.md).
 */
import { randomBytes } from "node:crypto";
import type { KeySpec, KeyState, KeyUsageType } from "@aws-sdk/client-kms";
import { kmsShapes, type KmsOperation } from "../../protocol/shapes/kms.gen.ts";
import type { AppContext } from "../../kernel/context.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { aliasOperations } from "./aliases.ts";
import { Kms, type KmsOptions } from "./core.ts";
import { cryptoOperations } from "./crypto-ops.ts";
import { lazyCheckedKey } from "../../store/key-file.ts";
import { loadOrCreateRootKey, openAtRest, ROOT_KEY_FILE, sealAtRest } from "./crypto/rootkey.ts";
import { grantOperations } from "./grants.ts";
import { importOperations, runDueImports } from "./import-ops.ts";
import { keyOperations, runDueDeletions } from "./keys.ts";
import { materialAad, type Sealer } from "./material.ts";
import { keyPolicyOperations } from "./key-policy-ops.ts";
import { resolveKey } from "./resolve.ts";
import { rotationOperations, runDueRotations } from "./rotation.ts";
import { signingOperations } from "./signing-ops.ts";
import { keyAgreementOperations } from "./key-agreement-ops.ts";
import { runDueReplicas } from "./multi-region.ts";
import { multiRegionOperations } from "./multi-region-ops.ts";
import { KIND_IMPORT, KIND_KEY, type KeyRecord } from "./state.ts";

declare module "../../kernel/context.ts" {
  interface Provided {
    kms: Kms;
  }
}

function numberOption(app: AppContext, name: "kmsMaxGrantsPerKey" | "kmsOnDemandRotationLimit", dflt: number): number {
  const v = Number(app.options[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

/** The data dir's root key, verified against the key material it seals (src/store/key-file.ts). */
function loadRootKey(app: AppContext, dataDir: string): () => Buffer {
  const keys = () => app.store.all<KeyRecord>(KIND_KEY);
  return lazyCheckedKey({
    dataDir,
    fileName: ROOT_KEY_FILE,
    store: app.store,
    metaKey: "kms.rootKeyCheck",
    protects: "KMS key material",
    hasSealedData: () => keys().length > 0 || app.store.all(KIND_IMPORT).length > 0,
    opensSealedData(root) {
      for (const k of keys()) {
        for (const m of k.materials) {
          if (m.importState === "PENDING_IMPORT") continue;
          try {
            openAtRest(root, Buffer.from(m.sealed), materialAad(k.arn, m.id));
            return true;
          } catch {
            return false;
          }
        }
      }
      return true; // nothing to open: keys without material (awaiting import) seal nothing yet
    },
    create: () => loadOrCreateRootKey(dataDir),
  });
}

function sealerFor(app: AppContext): Sealer {
  // tests may run without a data dir: material then lives under a random, in-memory root key
  const memoryRoot = randomBytes(32);
  const root = app.dataDir ? loadRootKey(app, app.dataDir) : () => memoryRoot;
  return {
    get secret() {
      return root();
    },
    seal: (plaintext, aad) => sealAtRest(root(), plaintext, aad),
    open: (sealed, aad) => openAtRest(root(), sealed, aad),
  };
}

export const kmsModule = defineServiceModule({
  name: "kms",
  needs: [],
  create(app) {
    const { kms, def } = createKmsService(app);
    return {
      services: [def],
      provides: { kms },
      dueRunners: [
        {
          name: "kms",
          async runDue(nowMs) {
            await runDueReplicas(kms, nowMs);
            await runDueImports(kms, nowMs);
            await runDueRotations(kms, nowMs);
            await runDueDeletions(kms, nowMs);
          },
        },
      ],
    };
  },
});

function createKmsService(app: AppContext): { kms: Kms; def: ServiceDef } {
  const options: KmsOptions = {
    maxGrantsPerKey: numberOption(app, "kmsMaxGrantsPerKey", 50_000),
    onDemandRotationLimit: numberOption(app, "kmsOnDemandRotationLimit", 25),
  };
  const kms = new Kms(app, sealerFor(app), options);
  kms.load();
  const def: ServiceDef = {
    name: "kms",
    signingName: "kms",
    iamPrefix: "kms",
    protocol: "json",
    targetPrefixes: ["TrentService"],
    shapes: kmsShapes,
    eventSource: "kms.amazonaws.com",
    operations: kmsOperations(kms),
  };
  return { kms, def };
}

/** Every KMS operation, by the names the official model gives them. */
export function kmsOperations(kms: Kms): OperationTable<KmsOperation> {
  return {
    ...keyOperations(kms),
    ...aliasOperations(kms),
    ...cryptoOperations(kms),
    ...signingOperations(kms),
    ...keyAgreementOperations(kms),
    ...rotationOperations(kms),
    ...importOperations(kms),
    ...keyPolicyOperations(kms),
    ...grantOperations(kms),
    ...multiRegionOperations(kms),
  };
}

export interface EcsKeyInfo {
  arn: string;
  keySpec: KeySpec;
  keyUsage: KeyUsageType;
  multiRegion: boolean;
  state: KeyState;
}

/**
 * In-process lookup for ECS's attach-time checks: the key named by a key ID, key ARN, alias name
 * or alias ARN, resolved in `accountId`/`region` exactly as KMS resolves a KeyId. Throws KMS's
 * NotFoundException (same messages as the API). No authorization: callers that act for a user
 * should call DescribeKey through app.invoke instead.
 */
export function resolveKeyForEcs(app: AppContext, accountId: string, region: string, keyId: string): EcsKeyInfo {
  const kms = app.get("kms");
  const { key } = resolveKey(kms.state, { accountId, region }, keyId, { aliases: true });
  return { arn: key.arn, keySpec: key.keySpec, keyUsage: key.keyUsage, multiRegion: key.multiRegion, state: key.state };
}
