/** Inline policies of users, roles and groups: Put/Get/List/Delete <Entity>Policy. */
import type { Tag } from "@aws-sdk/client-iam";
import type { OperationDef, RequestContext } from "../types.ts";
import { byName, encodeDocument, limitExceeded, noSuchEntity, paginate, policySize, validateDocument } from "./common.ts";
import { acct, arnFor, iamOp } from "./ops.ts";
import type { GroupRec, IamState, InlinePolicies, RoleRec, UserRec } from "./state.ts";

type Kind = "User" | "Role" | "Group";

/** Aggregate size of an entity's inline policies, whitespace not counted. */
export const INLINE_QUOTA: Record<Kind, number> = { User: 2048, Role: 10240, Group: 5120 };

interface EntityAccess<E extends { inline: InlinePolicies; name: string; arn: string }> {
  find(state: IamState, accountId: string, name: string): E | undefined;
  get(state: IamState, accountId: string, name: string): E;
  save(state: IamState, ctx: RequestContext, e: E): void;
  tags?(e: E): Tag[];
}

const USER: EntityAccess<UserRec> = {
  find: (s, a, n) => s.findUser(a, n),
  get: (s, a, n) => s.user(a, n),
  save: (s, ctx, e) => s.saveUser(ctx, e),
  tags: (e) => e.tags,
};
const ROLE: EntityAccess<RoleRec> = {
  find: (s, a, n) => s.findRole(a, n),
  get: (s, a, n) => s.role(a, n),
  save: (s, ctx, e) => s.saveRole(ctx, e),
  tags: (e) => e.tags,
};
const GROUP: EntityAccess<GroupRec> = {
  find: (s, a, n) => s.findGroup(a, n),
  get: (s, a, n) => s.group(a, n),
  save: (s, ctx, e) => s.saveGroup(ctx, e),
};

function findInline(list: InlinePolicies, name: string): number {
  return list.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
}

function operationsFor<E extends { inline: InlinePolicies; name: string; arn: string }>(state: IamState, kind: Kind, access: EntityAccess<E>): Record<string, OperationDef> {
  const nameKey = `${kind}Name`;
  const lower = kind.toLowerCase() as "user" | "role" | "group";
  const entityName = (i: Record<string, unknown>) => i[nameKey] as string;
  const resource = (ctx: RequestContext, i: Record<string, unknown>) => access.find(state, acct(ctx), entityName(i))?.arn ?? arnFor(ctx, lower, entityName(i));
  const resourceTags = (ctx: RequestContext, i: Record<string, unknown>) => {
    const e = access.find(state, acct(ctx), entityName(i));
    return e && access.tags ? access.tags(e) : undefined;
  };
  const missing = (name: string) => noSuchEntity(`The ${lower} policy with name ${name} cannot be found.`);

  return {
    [`Put${kind}Policy`]: iamOp<Record<string, unknown>, object>({
      resource,
      resourceTags,
      handler(ctx, i) {
        const e = access.get(state, acct(ctx), entityName(i));
        const name = i.PolicyName as string;
        const doc = i.PolicyDocument as string;
        const next: InlinePolicies = e.inline.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
        next.push([name, doc]);
        const total = next.reduce((sum, [, d]) => sum + policySize(d), 0);
        if (total > INLINE_QUOTA[kind]) throw limitExceeded(`Maximum policy size of ${INLINE_QUOTA[kind]} bytes exceeded for ${lower} ${e.name}`);
        validateDocument(doc, "identity");
        // Replacing keeps the policy's place.
        const idx = findInline(e.inline, name);
        if (idx >= 0) e.inline[idx] = [name, doc];
        else e.inline.push([name, doc]);
        access.save(state, ctx, e);
        return {};
      },
    }),

    [`Get${kind}Policy`]: iamOp<Record<string, unknown>, Record<string, unknown>>({
      readOnly: true,
      resource,
      resourceTags,
      handler(ctx, i) {
        const e = access.get(state, acct(ctx), entityName(i));
        const idx = findInline(e.inline, i.PolicyName as string);
        if (idx < 0) throw missing(i.PolicyName as string);
        const [name, doc] = e.inline[idx];
        return { [nameKey]: e.name, PolicyName: name, PolicyDocument: encodeDocument(doc) };
      },
    }),

    [`List${kind}Policies`]: iamOp<Record<string, unknown>, Record<string, unknown>>({
      readOnly: true,
      resource,
      resourceTags,
      handler(ctx, i) {
        const e = access.get(state, acct(ctx), entityName(i));
        const names = e.inline.map(([n]) => n).sort(byName);
        const page = paginate(names, (n) => n.toLowerCase(), i.Marker as string | undefined, i.MaxItems as number | undefined);
        return { PolicyNames: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    [`Delete${kind}Policy`]: iamOp<Record<string, unknown>, object>({
      resource,
      resourceTags,
      handler(ctx, i) {
        const e = access.get(state, acct(ctx), entityName(i));
        const idx = findInline(e.inline, i.PolicyName as string);
        if (idx < 0) throw missing(i.PolicyName as string);
        e.inline.splice(idx, 1);
        access.save(state, ctx, e);
        return {};
      },
    }),
  };
}

export function inlinePolicyOperations(state: IamState): Record<string, OperationDef> {
  return {
    ...operationsFor(state, "User", USER),
    ...operationsFor(state, "Role", ROLE),
    ...operationsFor(state, "Group", GROUP),
  };
}
