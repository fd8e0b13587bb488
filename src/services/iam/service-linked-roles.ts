/**
 * Service-linked roles (https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html):
 * CreateServiceLinkedRole, DeleteServiceLinkedRole and GetServiceLinkedRoleDeletionStatus for the
 * services localfargate runs (ECS: AWSServiceRoleForECS,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html).
 * A service-linked role's trust policy names its service; only the service changes it, so the
 * role operations refuse it with UnmodifiableEntity. Deletion asks the service whether the role
 * is still in use (ECS: any cluster in any Region) and fails with the resources that use it.
 */
import { randomUUID } from "node:crypto";
import type {
  CreateServiceLinkedRoleRequest,
  CreateServiceLinkedRoleResponse,
  DeleteServiceLinkedRoleRequest,
  DeleteServiceLinkedRoleResponse,
  GetServiceLinkedRoleDeletionStatusRequest,
  GetServiceLinkedRoleDeletionStatusResponse,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { iamArn, invalidInput, newId, noSuchEntity } from "./common.ts";
import { beginIamCall, entityRef, existing, iamChecks, loggedResponse, authorizeOnRole, type EntityRef, type IamEnv } from "./ops.ts";
import { roleView } from "./roles.ts";
import type { RoleRec, SlrDeletionTask } from "./state.ts";

interface LinkedService {
  roleName: string;
  description: string;
  policyArn: string;
}

/** The services whose service-linked roles localfargate creates. */
export const LINKED_SERVICES: Readonly<Record<string, LinkedService>> = {
  "ecs.amazonaws.com": {
    roleName: "AWSServiceRoleForECS",
    description: "Role to enable Amazon ECS to manage your cluster.",
    policyArn: "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy",
  },
};

/** Which resources of an account still use a service's linked role, per Region (empty: none). */
export type LinkedRoleUsage = (accountId: string) => { region: string; resources: string[] }[];

export function serviceLinkedRolePath(service: string): string {
  return `/aws-service-role/${service}/`;
}

const TASK_ID = /^task\/aws-service-role\/([^/]+)\/([^/]+)\/([0-9a-f-]{36})$/;

type SlrOperation = "CreateServiceLinkedRole" | "DeleteServiceLinkedRole" | "GetServiceLinkedRoleDeletionStatus";

export function serviceLinkedRoleOperations(env: IamEnv, usage: ReadonlyMap<string, LinkedRoleUsage>): OperationTable<SlrOperation> {
  const { state } = env;
  return {
    CreateServiceLinkedRole: defineOperation<CreateServiceLinkedRoleRequest, CreateServiceLinkedRoleResponse, { account: string; service: string; linked?: LinkedService }>({
      resolve: function resolveLinkedService(ctx, i) {
        const account = beginIamCall(env, ctx);
        const service = i.AWSServiceName!;
        const linked = Object.hasOwn(LINKED_SERVICES, service) ? LINKED_SERVICES[service] : undefined;
        return { account, service, ...(linked ? { linked } : {}) };
      },
      authorize: function authorizeCreateServiceLinkedRole(ctx, _i, { account, service, linked }) {
        const arn = iamArn(account, "role", serviceLinkedRolePath(service), linked?.roleName ?? "*");
        return iamChecks(ctx, arn, { context: { "iam:AWSServiceName": service } });
      },
      handler: function createServiceLinkedRole(ctx, i, { account, service, linked }) {
        if (!linked) throw invalidInput(`Invalid service name: ${service}. localfargate creates service-linked roles for: ${Object.keys(LINKED_SERVICES).join(", ")}`);
        if (i.CustomSuffix !== undefined) throw invalidInput(`Custom suffix is not allowed for ${service}`);
        if (state.findRole(account, linked.roleName)) throw invalidInput(`Service role name ${linked.roleName} has been taken in this account, please try a different suffix.`);
        const path = serviceLinkedRolePath(service);
        const r: RoleRec = {
          id: newId("AROA"),
          accountId: account,
          name: linked.roleName,
          path,
          arn: iamArn(account, "role", path, linked.roleName),
          createDate: ctx.now,
          trust: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] }),
          description: i.Description ?? linked.description,
          maxSessionDuration: 3600,
          tags: [],
          inline: [],
          attached: [linked.policyArn],
          serviceLinked: service,
        };
        state.addRole(ctx, r);
        return { Role: roleView(r, "create") };
      },
      audit: {
        resources: (_ctx, _i, { account }, o) => (o.Role ? [{ ARN: o.Role.Arn!, accountId: account, type: "AWS::IAM::Role" }] : []),
        responseElements: loggedResponse,
      },
    }),

    DeleteServiceLinkedRole: defineOperation<DeleteServiceLinkedRoleRequest, DeleteServiceLinkedRoleResponse, EntityRef<RoleRec>>({
      resolve: function resolveLinkedRole(ctx, i) {
        const account = beginIamCall(env, ctx);
        return entityRef(account, "role", i.RoleName!, state.findRole(account, i.RoleName!));
      },
      authorize: authorizeOnRole,
      handler: function deleteServiceLinkedRole(ctx, _i, ref) {
        const r = existing(ref);
        if (!r.serviceLinked) throw invalidInput(`Role ${r.name} is not a service-linked role; delete it with DeleteRole.`);
        const id = `task/aws-service-role/${r.serviceLinked}/${r.name}/${randomUUID()}`;
        const inUse = (usage.get(r.serviceLinked)?.(r.accountId) ?? []).filter((u) => u.resources.length);
        const task: SlrDeletionTask = inUse.length
          ? { id, accountId: r.accountId, status: "FAILED", reason: `${r.serviceLinked} is still using the role: delete these resources first.`, usage: inUse }
          : { id, accountId: r.accountId, status: "SUCCEEDED" };
        if (task.status === "SUCCEEDED") state.deleteRole(ctx, r);
        state.saveSlrDeletion(ctx, task);
        return { DeletionTaskId: id };
      },
      audit: { responseElements: loggedResponse },
    }),

    GetServiceLinkedRoleDeletionStatus: defineOperation<
      GetServiceLinkedRoleDeletionStatusRequest,
      GetServiceLinkedRoleDeletionStatusResponse,
      { account: string; task?: SlrDeletionTask; arn: string }
    >({
      readOnly: true,
      resolve: function resolveDeletionTask(ctx, i) {
        const account = beginIamCall(env, ctx);
        const m = TASK_ID.exec(i.DeletionTaskId!);
        if (!m) throw invalidInput(`Invalid deletion task id: ${i.DeletionTaskId}`);
        const task = state.slrDeletions.get(i.DeletionTaskId!);
        const arn = iamArn(account, "role", serviceLinkedRolePath(m[1]), m[2]);
        return { account, arn, ...(task && task.accountId === account ? { task } : {}) };
      },
      authorize: function authorizeDeletionStatus(ctx, _i, { arn }) {
        return iamChecks(ctx, arn);
      },
      handler: function getServiceLinkedRoleDeletionStatus(_ctx, i, { task }) {
        if (!task) throw noSuchEntity(`Deletion task ${i.DeletionTaskId} cannot be found.`);
        if (task.status === "SUCCEEDED") return { Status: "SUCCEEDED" };
        return {
          Status: "FAILED",
          Reason: { Reason: task.reason, RoleUsageList: (task.usage ?? []).map((u) => ({ Region: u.region, Resources: u.resources })) },
        };
      },
    }),
  };
}
