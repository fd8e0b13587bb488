/**
 * The organization's resource policy, the delegation policy: the management account lets member
 * accounts call Organizations actions on the organization's resources (policy management, read
 * access) with PutResourcePolicy; DescribeResourcePolicy and DeleteResourcePolicy read and remove
 * it. https://docs.aws.amazon.com/organizations/latest/userguide/orgs-policy-delegate.html
 */
import type * as O from "@aws-sdk/client-organizations";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { compilePolicy } from "../../policy/index.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import { managedOrg, orgCheck, readableOrg, type OrgDeps } from "./common.ts";
import { invalidInput, orgError } from "./errors.ts";
import { newResourcePolicyId, resourcePolicyArn, type OrgRec } from "./model.ts";
import { checkOrgTags, setTags } from "./tag-operations.ts";

type ResourcePolicyOperation = "PutResourcePolicy" | "DescribeResourcePolicy" | "DeleteResourcePolicy";

const notFound = () => orgError("ResourcePolicyNotFoundException", "We can't find a resource policy request with the parameter that you specified.");
const badJson = (detail: string) => invalidInput("INVALID_RESOURCE_POLICY_JSON", `The provided resource policy document is not valid. ${detail}`.trim());

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Refuses a document AWS would: not JSON, not a resource policy, a statement without a principal, or an action outside Organizations. */
function validate(content: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    throw badJson("");
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc) || !("Statement" in doc)) throw badJson("It must be a JSON object with a Statement.");
  for (const st of asList((doc as { Statement: unknown }).Statement)) {
    if (!st || typeof st !== "object") throw badJson("Each statement must be a JSON object.");
    const s = st as Record<string, unknown>;
    if (s.Principal === undefined && s.NotPrincipal === undefined) throw invalidInput("INVALID_PRINCIPAL", "Each statement of a resource policy must name a Principal.");
    for (const action of [...asList(s.Action), ...asList(s.NotAction)]) {
      if (typeof action !== "string" || !/^organizations:[A-Za-z*?]+$/i.test(action)) {
        throw invalidInput("UNSUPPORTED_ACTION_IN_RESOURCE_POLICY", `The resource policy names an action that it can't grant: ${String(action)}.`);
      }
    }
  }
  try {
    compilePolicy(content, "resource");
  } catch (e) {
    throw badJson(e instanceof Error ? e.message : "");
  }
}

function view(org: OrgRec): O.ResourcePolicy {
  const rp = org.resourcePolicy!;
  return { ResourcePolicySummary: { Id: rp.id, Arn: resourcePolicyArn(org, rp.id) }, Content: rp.content };
}

const arnOf = (org: OrgRec) => (org.resourcePolicy ? resourcePolicyArn(org, org.resourcePolicy.id) : "*");

export function resourcePolicyOperations({ state }: OrgDeps): OperationTable<Extract<OrganizationsOperation, ResourcePolicyOperation>> {
  return {
    PutResourcePolicy: defineOperation<O.PutResourcePolicyRequest, O.PutResourcePolicyResponse, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, _i, org) => orgCheck("PutResourcePolicy", arnOf(org)),
      handler: function putResourcePolicy(ctx, i, org) {
        validate(i.Content!);
        checkOrgTags(i.Tags);
        // tags apply to the policy's creation only (the API reference, PutResourcePolicy's Tags)
        if (i.Tags?.length && org.resourcePolicy) {
          throw invalidInput("INVALID_INPUT", "You can specify tags only when you create the resource policy. Use TagResource to tag an existing one.");
        }
        const id = org.resourcePolicy?.id ?? newResourcePolicyId();
        org.resourcePolicy = { id, content: i.Content! };
        if (i.Tags?.length) setTags(org, id, i.Tags);
        state.save(ctx, org);
        return { ResourcePolicy: view(org) };
      },
    }),

    DescribeResourcePolicy: defineOperation<object, O.DescribeResourcePolicyResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: (_ctx, _i, org) => orgCheck("DescribeResourcePolicy", arnOf(org)),
      handler: function describeResourcePolicy(_ctx, _i, org) {
        if (!org.resourcePolicy) throw notFound();
        return { ResourcePolicy: view(org) };
      },
    }),

    DeleteResourcePolicy: defineOperation<object, object, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, _i, org) => orgCheck("DeleteResourcePolicy", arnOf(org)),
      handler: function deleteResourcePolicy(ctx, _i, org) {
        if (!org.resourcePolicy) throw notFound();
        org.tags = org.tags.filter(([r]) => r !== org.resourcePolicy!.id);
        delete org.resourcePolicy;
        state.save(ctx, org);
        return {};
      },
    }),
  };
}
