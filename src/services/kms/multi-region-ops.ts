/**
 * Multi-Region key operations: ReplicateKey (a replica of a primary key in another Region of the
 * partition) and UpdatePrimaryRegion (a replica becomes the primary, the primary a replica).
 * Neither works across accounts: a key ARN of another account is not found.
 *
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
 */
import type { KeyMetadata, ReplicateKeyRequest, ReplicateKeyResponse, Tag, UpdatePrimaryRegionRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { keyResources, namingKeys, recordInRegion, type Kms, type NoOutput } from "./core.ts";
import { defaultKeyPolicy, iamCheck, keyCheck, lockoutCheck, validateKeyPolicy } from "./key-policy.ts";
import { keyMetadata, requestTagContext, trailKeyMetadata, validateTags } from "./keys.ts";
import { copiesOf, isReplica, REPLICA_CREATION_MS, requirePrimary, withSharedProperties } from "./multi-region.ts";
import { isKmsRegion } from "./regions.ts";
import { keyOf, namedKey, type Resolved } from "./resolve.ts";
import { checkKeyState, err, keyArn, type KeyRecord } from "./state.ts";

/** A key of the caller's own account (these operations have no cross-account use: cross-account.ts). */
function ownKey(kms: Kms, ctx: RequestContext, keyId: string): Resolved {
  return namedKey(kms.state, ctx, keyId, { aliases: false });
}

function otherRegion(key: KeyRecord, region: string, member: string): void {
  if (!isKmsRegion(region)) throw err.validation(`${member} ${region} is not a Region in which KMS is available in this partition.`);
  if (region === key.region) throw err.validation(`${member} ${region} is the Region of ${key.arn}; it must be a different Region.`);
}

interface ReplicaPlan {
  primary: KeyRecord;
  replicaArn: string;
}

function replicateKeyOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ReplicateKeyRequest, ReplicateKeyResponse, ReplicaPlan>({
    resolve(ctx, i) {
      validateTags(i.Tags);
      const { key } = ownKey(kms, ctx, i.KeyId!);
      return { primary: key, replicaArn: keyArn(i.ReplicaRegion!, key.accountId, key.keyId) };
    },
    authorize: (ctx, i, { primary }) => {
      const region = { "aws:RequestedRegion": i.ReplicaRegion };
      const checks = [
        keyCheck(ctx, state, primary, "ReplicateKey", { context: { "kms:ReplicaRegion": i.ReplicaRegion } }),
        iamCheck("CreateKey", {
          ...region,
          "kms:KeySpec": primary.keySpec,
          "kms:KeyUsage": primary.keyUsage,
          "kms:KeyOrigin": primary.origin,
          "kms:MultiRegion": true,
          "kms:MultiRegionKeyType": "REPLICA",
          "kms:BypassPolicyLockoutSafetyCheck": i.BypassPolicyLockoutSafetyCheck ?? false,
          ...requestTagContext(i.Tags),
        }),
      ];
      if (i.Tags?.length) checks.push(iamCheck("TagResource", { ...region, ...requestTagContext(i.Tags) }));
      return checks;
    },
    handler: function replicateKey(ctx, i, { primary, replicaArn }) {
      requirePrimary(primary);
      checkKeyState(primary, "notPendingDeletion");
      otherRegion(primary, i.ReplicaRegion!, "ReplicaRegion");
      if (state.keys.has(replicaArn)) throw new ServiceError("AlreadyExistsException", `Replica key ${replicaArn} already exists.`, 400);
      let policy = defaultKeyPolicy(primary.accountId);
      if (i.Policy !== undefined) {
        validateKeyPolicy(i.Policy);
        if (!i.BypassPolicyLockoutSafetyCheck) lockoutCheck(ctx, { arn: replicaArn, accountId: primary.accountId }, i.Policy);
        policy = i.Policy;
      }
      const blank: KeyRecord = {
        keyId: primary.keyId,
        arn: replicaArn,
        accountId: primary.accountId,
        region: i.ReplicaRegion!,
        creationDate: ctx.now,
        description: i.Description ?? "",
        keyUsage: primary.keyUsage,
        keySpec: primary.keySpec,
        origin: primary.origin,
        state: "Creating",
        readyAt: new Date(ctx.now.getTime() + REPLICA_CREATION_MS),
        multiRegion: true,
        multiRegionKeyType: "REPLICA",
        policy,
        tags: (i.Tags ?? []).map((t: Tag) => ({ TagKey: t.TagKey, TagValue: t.TagValue })),
        materials: [],
        rotationEnabled: false,
        onDemandRotations: 0,
      };
      const replica = withSharedProperties(kms, primary, blank);
      kms.saveKey(ctx, replica);
      // AWS records ReplicateKey in the primary's Region and a CreateKey in the replica's
      ctx.writes.push(
        ...recordInRegion(ctx, replica.region, "CreateKey", {
          resources: keyResources(ctx, [replica]),
          requestParameters: {
            ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
            description: replica.description,
            keyUsage: replica.keyUsage,
            customerMasterKeySpec: replica.keySpec,
            keySpec: replica.keySpec,
            origin: replica.origin,
            bypassPolicyLockoutSafetyCheck: i.BypassPolicyLockoutSafetyCheck ?? false,
            ...(i.Tags ? { tags: trailTags(i.Tags) } : {}),
            multiRegion: true,
          },
          responseElements: { keyMetadata: trailKeyMetadata(replica, state) },
        }),
      );
      return { ReplicaKeyMetadata: keyMetadata(replica, state), ReplicaPolicy: policy, ReplicaTags: replica.tags };
    },
    audit: {
      resources: (ctx, _i, { primary, replicaArn }) => keyResources(ctx, [primary, { arn: replicaArn, accountId: primary.accountId }]),
      requestParameters: (i) => ({
        keyId: i.KeyId,
        replicaRegion: i.ReplicaRegion,
        ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
        bypassPolicyLockoutSafetyCheck: i.BypassPolicyLockoutSafetyCheck ?? false,
        description: i.Description ?? "",
        ...(i.Tags ? { tags: trailTags(i.Tags) } : {}),
      }),
      responseElements: (out) => ({
        replicaKeyMetadata: metadataForTrail(kms, out.ReplicaKeyMetadata),
        replicaPolicy: out.ReplicaPolicy,
        replicaTags: trailTags(out.ReplicaTags ?? []),
      }),
    },
  });
}

const trailTags = (tags: Tag[]) => tags.map((t) => ({ tagKey: t.TagKey, tagValue: t.TagValue }));

/** replicaKeyMetadata as AWS's ReplicateKey record spells it (`aWSAccountId`). */
function metadataForTrail(kms: Kms, md: KeyMetadata | undefined): Record<string, unknown> | null {
  const key = md?.Arn ? kms.state.keys.get(md.Arn) : undefined;
  if (!key) return null;
  const { AWSAccountId, ...rest } = trailKeyMetadata(key, kms.state);
  return { aWSAccountId: AWSAccountId, ...rest };
}

interface PrimarySwap {
  primary: KeyRecord;
  /** the replica in PrimaryRegion, when there is one */
  replica?: KeyRecord;
}

function updatePrimaryRegionOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<UpdatePrimaryRegionRequest, NoOutput, PrimarySwap>({
    resolve(ctx, i) {
      const { key } = ownKey(kms, ctx, i.KeyId!);
      otherRegion(key, i.PrimaryRegion!, "PrimaryRegion");
      const replica = copiesOf(state, key).find((k) => k.region === i.PrimaryRegion && isReplica(k));
      return namingKeys(ctx, { primary: key, replica }, key, replica);
    },
    // kms:UpdatePrimaryRegion on the current primary and on the replica that takes its place
    authorize: (ctx, i, { primary, replica }) =>
      [primary, replica].flatMap((k) => (k ? [keyCheck(ctx, state, k, "UpdatePrimaryRegion", { context: { "kms:PrimaryRegion": i.PrimaryRegion } })] : [])),
    handler: function updatePrimaryRegion(ctx, i, { primary, replica }) {
      requirePrimary(primary);
      if (!replica) throw err.notFoundKey(keyArn(i.PrimaryRegion!, primary.accountId, primary.keyId));
      checkKeyState(primary, "notPendingDeletion");
      checkKeyState(replica, "notPendingDeletion");
      if (replica.state === "Creating") throw err.creating(replica.arn);
      // the new primary is the source of the shared properties from now on: it takes them first
      const promoted: KeyRecord = { ...withSharedProperties(kms, primary, replica), multiRegionKeyType: "PRIMARY" };
      kms.saveKey(ctx, { ...primary, multiRegionKeyType: "REPLICA" });
      kms.saveKey(ctx, promoted);
      // one record in each Region, each naming that Region's key
      ctx.writes.push(
        ...recordInRegion(ctx, replica.region, "UpdatePrimaryRegion", {
          resources: keyResources(ctx, [replica]),
          requestParameters: { keyId: i.KeyId, primaryRegion: i.PrimaryRegion },
          responseElements: { keyId: replica.arn },
        }),
      );
      return {};
    },
    audit: {
      resources: (ctx, _i, { primary }) => keyResources(ctx, [primary]),
      // the former primary, in the caller's Region (AWS writes the key ARN though the call answers nothing)
      responseElements: (_out, i, ctx) => ({ keyId: keyOf(state, ctx, i.KeyId!, { aliases: false }).key.arn }),
    },
  });
}

export function multiRegionOperations(kms: Kms) {
  return {
    ReplicateKey: replicateKeyOperation(kms),
    UpdatePrimaryRegion: updatePrimaryRegionOperation(kms),
  };
}
