/**
 * ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions and
 * StopServiceDeployment over a service's history (service-history.ts, deployments.ts).
 * Deployments and revisions are found only from their own account and Region: another's ARN is
 * a MISSING failure (Describe) or ServiceDeploymentNotFoundException (Stop).
 */
import type {
  DescribeServiceDeploymentsRequest,
  DescribeServiceDeploymentsResponse,
  DescribeServiceRevisionsRequest,
  DescribeServiceRevisionsResponse,
  Failure,
  ListServiceDeploymentsRequest,
  ListServiceDeploymentsResponse,
  StopServiceDeploymentRequest,
  StopServiceDeploymentResponse,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { found } from "./lookup.ts";
import { checkMaxResults, indexPage } from "./paging.ts";
import { lookupService, serviceCheck, type ServiceLookup, type ServicePlane } from "./services.ts";
import { clusterArn, type EcsState, parseEcsArn } from "./state.ts";
import { currentTargetCounts, rollBack, rollbackTarget, STOP_ROLLBACK_REASON } from "./deployments.ts";
import { historyArnType, IN_PROGRESS_STATUSES, serviceDeploymentBrief, serviceDeploymentOutput, serviceRevisionOutput, type ServiceDeploymentRecord } from "./service-history.ts";

const MAX_DESCRIBE = 20;
const DEFAULT_PAGE = 20;

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

/** What authorization sees for an ARN of the history: the ARN and its cluster (when it is well formed). */
function historyCheck(action: string, arn: string): AuthCheck {
  const p = parseEcsArn(arn);
  const cluster = p && historyArnType(arn) ? clusterArn(p.region, p.account, p.rest.split("/")[0]) : undefined;
  return { action, resource: arn, context: { "ecs:cluster": cluster } };
}

function checkArns(arns: string[] | undefined, type: "service-deployment" | "service-revision", what: string): string[] {
  const list = arns ?? [];
  if (list.length === 0) throw invalid(`${what} cannot be empty.`);
  if (list.length > MAX_DESCRIBE) throw invalid(`${what} must contain ${MAX_DESCRIBE} or fewer ARNs.`);
  for (const arn of list) if (historyArnType(arn) !== type) throw invalid(`Invalid identifier: ${JSON.stringify(arn)} is not a ${type} ARN.`);
  return list;
}

export function serviceDeploymentOperations(state: EcsState, plane: ServicePlane) {
  const history = state.history;
  return {
    ListServiceDeployments: defineOperation<ListServiceDeploymentsRequest, ListServiceDeploymentsResponse, ServiceLookup>({
      readOnly: true,
      resolve: (ctx, input) => lookupService(state, ctx, input.cluster, input.service),
      authorize: (_ctx, _input, r) => [serviceCheck("ecs:ListServiceDeployments", r)],
      handler: function listServiceDeployments(_ctx, input, r): ListServiceDeploymentsResponse {
        found(r.cluster);
        const s = r.service;
        if (!s) throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
        const limit = checkMaxResults(input.maxResults);
        const after = input.createdAt?.after?.getTime();
        const before = input.createdAt?.before?.getTime();
        if (after !== undefined && before !== undefined && after > before) throw invalid("createdAt.after must not be later than createdAt.before.");
        const statuses = input.status?.length ? new Set<string>(input.status) : undefined;
        const keep = (d: ServiceDeploymentRecord) => {
          const t = d.createdAt.getTime();
          return t >= since && (!statuses || statuses.has(d.status)) && (after === undefined || t >= after) && (before === undefined || t <= before);
        };
        const since = s.createdAt.getTime();
        const p = indexPage(
          history.deployments.index("byService"),
          s.arn,
          { maxResults: input.maxResults === undefined ? DEFAULT_PAGE : limit, nextToken: input.nextToken },
          serviceDeploymentBrief,
          {
            filter: keep,
            descending: true,
          },
        );
        return { serviceDeployments: p.items, nextToken: p.nextToken };
      },
    }),

    DescribeServiceDeployments: defineOperation<DescribeServiceDeploymentsRequest, DescribeServiceDeploymentsResponse>({
      readOnly: true,
      authorize: (_ctx, input) => (input.serviceDeploymentArns ?? []).map((arn) => historyCheck("ecs:DescribeServiceDeployments", arn)),
      handler: function describeServiceDeployments(ctx, input): DescribeServiceDeploymentsResponse {
        const arns = checkArns(input.serviceDeploymentArns, "service-deployment", "serviceDeploymentArns");
        const counts = currentTargetCounts(state);
        const out: DescribeServiceDeploymentsResponse = { serviceDeployments: [], failures: [] };
        for (const arn of arns) {
          const d = history.deployment(arn, ctx.region, ctx.principal.accountId);
          if (d) out.serviceDeployments!.push(serviceDeploymentOutput(d, counts));
          else out.failures!.push(missing(arn));
        }
        return out;
      },
    }),

    DescribeServiceRevisions: defineOperation<DescribeServiceRevisionsRequest, DescribeServiceRevisionsResponse>({
      readOnly: true,
      authorize: (_ctx, input) => (input.serviceRevisionArns ?? []).map((arn) => historyCheck("ecs:DescribeServiceRevisions", arn)),
      handler: function describeServiceRevisions(ctx, input): DescribeServiceRevisionsResponse {
        const arns = checkArns(input.serviceRevisionArns, "service-revision", "serviceRevisionArns");
        const out: DescribeServiceRevisionsResponse = { serviceRevisions: [], failures: [] };
        for (const arn of arns) {
          const r = history.revision(arn, ctx.region, ctx.principal.accountId);
          if (r) out.serviceRevisions!.push(serviceRevisionOutput(r));
          else out.failures!.push(missing(arn));
        }
        return out;
      },
    }),

    StopServiceDeployment: defineOperation<StopServiceDeploymentRequest, StopServiceDeploymentResponse>({
      authorize: (_ctx, input) => [historyCheck("ecs:StopServiceDeployment", input.serviceDeploymentArn ?? "*")],
      handler: function stopServiceDeployment(ctx: RequestContext, input): StopServiceDeploymentResponse {
        const arn = input.serviceDeploymentArn!;
        if (historyArnType(arn) !== "service-deployment") throw invalid(`Invalid identifier: ${JSON.stringify(arn)} is not a service-deployment ARN.`);
        const stopType = input.stopType ?? "ROLLBACK";
        if (stopType !== "ROLLBACK") throw invalid(`The stop type ${stopType} is not supported for this service deployment. The valid value is ROLLBACK.`);
        const sd = history.deployment(arn, ctx.region, ctx.principal.accountId);
        if (!sd) throw new ServiceError("ServiceDeploymentNotFoundException", "The service deployment does not exist.", 400);
        if (!IN_PROGRESS_STATUSES.includes(sd.status)) throw new ServiceError("ConflictException", `The service deployment is ${sd.status} and can't be stopped.`, 400);
        const s = state.service(sd.serviceArn, ctx.region, ctx.principal.accountId);
        if (!s || s.status !== "ACTIVE") throw new ServiceError("ConflictException", "The service of the service deployment is not ACTIVE.", 400);
        const target = rollbackTarget(history, s, sd);
        if (!target) throw new ServiceError("ConflictException", "The service deployment can't be rolled back: the service has no earlier service revision.", 400);
        const primary = s.deployments.find((d) => d.status === "PRIMARY");
        if (!rollBack(history, s, sd, target, STOP_ROLLBACK_REASON, ctx.now))
          throw new ServiceError("ConflictException", "The service revision to roll back to no longer exists.", 400);
        if (primary) {
          primary.rolloutState = "FAILED";
          primary.rolloutStateReason = "ECS deployment stopped by a StopServiceDeployment request.";
          primary.updatedAt = ctx.now;
        }
        ctx.writes.push(...history.changedWrites(), state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { serviceDeploymentArn: sd.arn };
      },
    }),
  };
}

function missing(arn: string): Failure {
  return { arn, reason: "MISSING" };
}
