/**
 * GetAccountAuthorizationDetails: every user, group and role of the account with its inline
 * policies, attached managed policies, boundary and tags, and the managed policies in use with
 * all their versions, in one paged answer
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html).
 * AWS managed policies are listed when something in the account has one attached or as a
 * boundary.
 */
import type {
  AttachedPolicy,
  GetAccountAuthorizationDetailsRequest,
  GetAccountAuthorizationDetailsResponse,
  GroupDetail,
  ManagedPolicyDetail,
  PolicyDetail,
  RoleDetail,
  UserDetail,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { byName, encodeDocument, paginate } from "./common.ts";
import { policyView } from "./managed.ts";
import { authorizeOnAnyResource, iamResolvers, type IamEnv } from "./ops.ts";
import type { IamState, InlinePolicies, ManagedPolicy } from "./state.ts";

type Entry = { kind: "user"; detail: UserDetail } | { kind: "group"; detail: GroupDetail } | { kind: "role"; detail: RoleDetail } | { kind: "policy"; detail: ManagedPolicyDetail };

const inlineList = (inline: InlinePolicies): PolicyDetail[] => inline.map(([PolicyName, doc]) => ({ PolicyName, PolicyDocument: encodeDocument(doc) }));

function attachedList(state: IamState, account: string, arns: string[]): AttachedPolicy[] {
  return arns.map((arn) => ({ PolicyName: state.findPolicy(account, arn)?.rec.name ?? arn.slice(arn.lastIndexOf("/") + 1), PolicyArn: arn }));
}

const boundary = (arn: string | undefined) => (arn ? { PermissionsBoundary: { PermissionsBoundaryType: "PermissionsBoundaryPolicy" as const, PermissionsBoundaryArn: arn } } : {});

function policyDetail(state: IamState, account: string, p: ManagedPolicy): ManagedPolicyDetail {
  const { Tags: _tags, ...view } = policyView(state, account, p, "get");
  const versions =
    p.kind === "aws"
      ? [{ Document: encodeDocument(p.rec.document), VersionId: p.rec.versionId, IsDefaultVersion: true, CreateDate: p.rec.updateDate }]
      : [...p.rec.versions]
          .reverse()
          .map((v) => ({ Document: encodeDocument(v.doc), VersionId: v.id, IsDefaultVersion: v.id === p.rec.defaultVersionId, CreateDate: v.createDate }));
  return { ...view, PolicyVersionList: versions };
}

/** The account's authorization details in AWS's order: users, groups, roles, then policies. */
function entries(state: IamState, account: string, filter: Set<string> | undefined): Entry[] {
  const want = (f: string) => !filter || filter.has(f);
  const out: Entry[] = [];
  const sorted = <T extends { name: string }>(xs: T[]) => xs.sort((a, b) => byName(a.name, b.name));
  if (want("User")) {
    for (const u of sorted(state.users(account))) {
      out.push({
        kind: "user",
        detail: {
          Path: u.path,
          UserName: u.name,
          UserId: u.id,
          Arn: u.arn,
          CreateDate: u.createDate,
          UserPolicyList: inlineList(u.inline),
          GroupList: state.groupsOf(u).map((g) => g.name),
          AttachedManagedPolicies: attachedList(state, account, u.attached),
          ...boundary(u.boundary),
          Tags: u.tags,
        },
      });
    }
  }
  if (want("Group")) {
    for (const g of sorted(state.groups(account))) {
      out.push({
        kind: "group",
        detail: {
          Path: g.path,
          GroupName: g.name,
          GroupId: g.id,
          Arn: g.arn,
          CreateDate: g.createDate,
          GroupPolicyList: inlineList(g.inline),
          AttachedManagedPolicies: attachedList(state, account, g.attached),
        },
      });
    }
  }
  if (want("Role")) {
    for (const r of sorted(state.roles(account))) {
      out.push({
        kind: "role",
        detail: {
          Path: r.path,
          RoleName: r.name,
          RoleId: r.id,
          Arn: r.arn,
          CreateDate: r.createDate,
          AssumeRolePolicyDocument: encodeDocument(r.trust),
          InstanceProfileList: [],
          RolePolicyList: inlineList(r.inline),
          AttachedManagedPolicies: attachedList(state, account, r.attached),
          ...boundary(r.boundary),
          Tags: r.tags,
          RoleLastUsed: r.lastUsed ? { LastUsedDate: r.lastUsed.date, Region: r.lastUsed.region } : {},
        },
      });
    }
  }
  if (want("LocalManagedPolicy")) {
    for (const p of sorted(state.customerPolicies(account))) out.push({ kind: "policy", detail: policyDetail(state, account, { kind: "customer", rec: p }) });
  }
  if (want("AWSManagedPolicy")) {
    const inUse = new Set<string>();
    for (const e of [...state.users(account), ...state.groups(account), ...state.roles(account)]) for (const a of e.attached) inUse.add(a);
    for (const e of [...state.users(account), ...state.roles(account)]) if (e.boundary) inUse.add(e.boundary);
    const aws = [...inUse].map((arn) => state.findPolicy(account, arn)).filter((p): p is ManagedPolicy => p?.kind === "aws");
    for (const p of aws.sort((a, b) => byName(a.rec.name, b.rec.name))) out.push({ kind: "policy", detail: policyDetail(state, account, p) });
  }
  return out;
}

export function authorizationDetailsOperations(env: IamEnv): OperationTable<"GetAccountAuthorizationDetails"> {
  const { state } = env;
  const resolve = iamResolvers(env);
  return {
    GetAccountAuthorizationDetails: defineOperation<GetAccountAuthorizationDetailsRequest, GetAccountAuthorizationDetailsResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function getAccountAuthorizationDetails(_ctx, i, account) {
        const filter = i.Filter?.length ? new Set<string>(i.Filter) : undefined;
        const all = entries(state, account, filter);
        const page = paginate(all, (_e, n) => String(n).padStart(10, "0"), i.Marker, i.MaxItems);
        const out: GetAccountAuthorizationDetailsResponse = { UserDetailList: [], GroupDetailList: [], RoleDetailList: [], Policies: [] };
        for (const e of page.items) {
          if (e.kind === "user") out.UserDetailList!.push(e.detail);
          else if (e.kind === "group") out.GroupDetailList!.push(e.detail);
          else if (e.kind === "role") out.RoleDetailList!.push(e.detail);
          else out.Policies!.push(e.detail);
        }
        return { ...out, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),
  };
}
