/**
 * IAM users' SSH public keys, the credentials CodeCommit authenticates Git over SSH with
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSSHPublicKey.html): RSA keys in
 * OpenSSH or PEM format, at most five per user, identified by an APKA… id and the MD5
 * fingerprint of the key.
 */
import type {
  DeleteSSHPublicKeyRequest,
  GetSSHPublicKeyRequest,
  GetSSHPublicKeyResponse,
  ListSSHPublicKeysRequest,
  ListSSHPublicKeysResponse,
  SSHPublicKey,
  UpdateSSHPublicKeyRequest,
  UploadSSHPublicKeyRequest,
  UploadSSHPublicKeyResponse,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { parseSshPublicKey, sshKeyIn } from "./credential-material.ts";
import { credentialRecords, type SshKeyRec } from "./credential-records.ts";
import { limitExceeded, settableStatus, newId, noSuchEntity, paginate } from "./common.ts";
import { authorizeOnImplicitUser, authorizeOnUser, existing, iamResolvers, implicitUserRequired, type EntityRef, type IamEnv, type ImplicitUser } from "./ops.ts";
import type { UserRec } from "./state.ts";

/** SSH public keys per user (IAM and AWS STS quotas). */
export const MAX_SSH_PUBLIC_KEYS = 5;

type SshKeyOperation = "UploadSSHPublicKey" | "GetSSHPublicKey" | "ListSSHPublicKeys" | "UpdateSSHPublicKey" | "DeleteSSHPublicKey";

function keyView(k: SshKeyRec, u: UserRec, body: string): SSHPublicKey {
  return { UserName: u.name, SSHPublicKeyId: k.id, Fingerprint: k.fingerprint, SSHPublicKeyBody: body, Status: k.status, UploadDate: new Date(k.uploadDate) };
}

export function sshPublicKeyOperations(env: IamEnv): OperationTable<SshKeyOperation> {
  const records = credentialRecords(env.state);
  const resolve = iamResolvers(env);
  const keyOf = (u: UserRec, id: string): SshKeyRec => {
    const k = records.sshKeysOf(u.accountId, u.id).find((x) => x.id === id);
    if (!k) throw noSuchEntity(`The Public Key with id ${id} cannot be found.`);
    return k;
  };

  return {
    UploadSSHPublicKey: defineOperation<UploadSSHPublicKeyRequest, UploadSSHPublicKeyResponse, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function uploadSshPublicKey(ctx, i, ref) {
        const u = existing(ref);
        const parsed = parseSshPublicKey(i.SSHPublicKeyBody!);
        const keys = records.sshKeysOf(u.accountId, u.id);
        if (keys.some((k) => k.fingerprint === parsed.fingerprint)) {
          throw new ServiceError("DuplicateSSHPublicKey", "The SSH public key is already associated with the specified IAM user.", 400);
        }
        if (keys.length >= MAX_SSH_PUBLIC_KEYS) throw limitExceeded(`Cannot exceed quota for PublicKeysPerUser: ${MAX_SSH_PUBLIC_KEYS}`);
        const k: SshKeyRec = { id: newId("APKA"), accountId: u.accountId, userId: u.id, body: parsed.body, fingerprint: parsed.fingerprint, status: "Active", uploadDate: ctx.now };
        records.saveSshKey(ctx, k);
        return { SSHPublicKey: keyView(k, u, k.body) };
      },
    }),

    GetSSHPublicKey: defineOperation<GetSSHPublicKeyRequest, GetSSHPublicKeyResponse, EntityRef<UserRec>>({
      readOnly: true,
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function getSshPublicKey(_ctx, i, ref) {
        const u = existing(ref);
        const k = keyOf(u, i.SSHPublicKeyId!);
        return { SSHPublicKey: keyView(k, u, sshKeyIn(k.body, i.Encoding as "SSH" | "PEM")) };
      },
    }),

    ListSSHPublicKeys: defineOperation<ListSSHPublicKeysRequest, ListSSHPublicKeysResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listSshPublicKeys(_ctx, i, who) {
        const user = implicitUserRequired(who);
        // The account root has no SSH public keys: they belong to IAM users.
        const keys = user ? records.sshKeysOf(who.account, user.id) : [];
        const page = paginate(keys, (_k, n) => String(n).padStart(4, "0"), i.Marker, i.MaxItems);
        return {
          SSHPublicKeys: page.items.map((k) => ({ UserName: user!.name, SSHPublicKeyId: k.id, Status: k.status, UploadDate: new Date(k.uploadDate) })),
          IsTruncated: page.IsTruncated,
          Marker: page.Marker,
        };
      },
    }),

    UpdateSSHPublicKey: defineOperation<UpdateSSHPublicKeyRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function updateSshPublicKey(ctx, i, ref) {
        const k = keyOf(existing(ref), i.SSHPublicKeyId!);
        records.saveSshKey(ctx, { ...k, status: settableStatus(i.Status) });
        return {};
      },
    }),

    DeleteSSHPublicKey: defineOperation<DeleteSSHPublicKeyRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function deleteSshPublicKey(ctx, i, ref) {
        records.deleteSshKey(ctx, keyOf(existing(ref), i.SSHPublicKeyId!));
        return {};
      },
    }),
  };
}
