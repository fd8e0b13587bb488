/**
 * The Amazon ECR side of a task's image pull (docs/ecs-fargate.md#images). There is no ECR
 * registry here: an ECR image name is served from the local image store, where
 * `localfargate image load --name <ecr name>` put it. What AWS checks before such a pull is
 * checked all the same, at launch, as the task's execution role session
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html):
 * `ecr:GetAuthorizationToken` on `*` (the registry login), then, per image,
 * `ecr:BatchGetImage` (the manifest), `ecr:BatchCheckLayerAvailability` and
 * `ecr:GetDownloadUrlForLayer` (the layers) on `arn:aws:ecr:<region>:<account>:repository/<repo>`.
 * Each call is evaluated by the policy engine exactly as a call of that ECR action would be and is
 * recorded in CloudTrail (event source ecr.amazonaws.com, the execution role's session as
 * userIdentity, ecs-tasks.amazonaws.com as source address and user agent), refused ones with
 * their AccessDeniedException.
 */
import { randomUUID } from "node:crypto";
import { buildRecord, storeRecordNow } from "../../audit/record.ts";
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { Principal } from "../../kernel/principal.ts";
import type { ServiceDef } from "../../kernel/service.ts";
import { parseImageRef, type ImageRef } from "../../fargate/images/refs.ts";

const ECS_TASKS = "ecs-tasks.amazonaws.com";

/** What CloudTrail and the policy engine see of ECR (no operations are served over HTTP). */
const ECR: ServiceDef = { name: "ecr", signingName: "ecr", iamPrefix: "ecr", protocol: "json", eventSource: "ecr.amazonaws.com", operations: {} };

export interface EcrImage {
  ref: ImageRef & { ecr: { accountId: string; region: string } };
  repositoryArn: string;
}

/** The task's container images that name an Amazon ECR private registry, in container order. */
export function ecrImages(images: readonly (string | undefined)[]): EcrImage[] {
  const out: EcrImage[] = [];
  for (const image of images) {
    let ref: ImageRef;
    try {
      ref = parseImageRef(image ?? "");
    } catch {
      continue; // not a valid name: the data plane's lookup gives its CannotPullContainerError
    }
    if (!ref.ecr) continue;
    out.push({ ref: ref as EcrImage["ref"], repositoryArn: `arn:aws:ecr:${ref.ecr.region}:${ref.ecr.accountId}:repository/${ref.repository}` });
  }
  return out;
}

/** `[manifests <tag or digest>]`, as the registry's status line names the request. */
function manifestOf(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** ECS's stop reason for an ECR image of a task that has no execution role to log in with. */
export function noExecutionRoleReason(img: EcrImage): string {
  return `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${img.ref.normalized}: pulling from host ${img.ref.registry} failed with status code [manifests ${manifestOf(img.ref)}]: 401 Unauthorized: the task definition has no executionRoleArn, which Fargate needs to pull images from Amazon ECR`;
}

export class EcrPullDenied extends Error {
  constructor(readonly stopReason: string) {
    super(stopReason);
    this.name = "EcrPullDenied";
  }
}

/** Evaluates one ECR call as `principal` and records it in CloudTrail; throws the AccessDeniedException of a refusal. */
async function call(app: AppContext, principal: Principal, region: string, operation: string, action: string, resource: string, requestParameters: unknown): Promise<void> {
  const ctx: RequestContext = {
    requestId: randomUUID(),
    service: ECR,
    operation,
    region,
    principal,
    sourceIp: ECS_TASKS,
    userAgent: ECS_TASKS,
    secureTransport: true,
    now: app.clock.now(),
    app,
    writes: [],
    audit: { requestParameters, ...(resource !== "*" ? { resources: [{ ARN: resource, accountId: resource.split(":")[4], type: "AWS::ECR::Repository" }] } : {}) },
    internal: true,
    afterCommit: () => undefined,
  };
  let error: ServiceError | undefined;
  try {
    app.simulateAuthorization(ctx, [{ action, resource }]);
  } catch (e) {
    if (!(e instanceof ServiceError)) throw e;
    error = e;
  }
  const sink = app.auditSink;
  if (sink) await storeRecordNow(app, sink, buildRecord(ctx, ECR, error ? { error } : {}), ctx.principal);
  if (error) throw error;
}

/**
 * Checks, as the execution role session `principal`, every ECR call a pull of `images` makes.
 * Rejects with EcrPullDenied carrying the task's stop reason.
 */
export async function checkEcrPulls(app: AppContext, principal: Principal, images: readonly EcrImage[]): Promise<void> {
  const registries = new Map<string, EcrImage>();
  for (const img of images) if (!registries.has(img.ref.registry)) registries.set(img.ref.registry, img);
  for (const img of registries.values()) {
    try {
      await call(app, principal, img.ref.ecr.region, "GetAuthorizationToken", "ecr:GetAuthorizationToken", "*", { registryIds: [img.ref.ecr.accountId] });
    } catch (e) {
      const err = e as ServiceError;
      throw new EcrPullDenied(
        `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): ${err.code}: ${err.message} status code: ${err.status}`,
      );
    }
  }
  for (const img of images) {
    const { ref, repositoryArn } = img;
    const repo = { registryId: ref.ecr.accountId, repositoryName: ref.repository };
    const imageId = ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag };
    const steps: [string, unknown][] = [
      [
        "BatchGetImage",
        { ...repo, imageIds: [imageId], acceptedMediaTypes: ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"] },
      ],
      ["BatchCheckLayerAvailability", repo],
      ["GetDownloadUrlForLayer", repo],
    ];
    for (const [operation, params] of steps) {
      try {
        await call(app, principal, ref.ecr.region, operation, `ecr:${operation}`, repositoryArn, params);
      } catch (e) {
        const err = e as ServiceError;
        const what = operation === "BatchGetImage" ? `manifests ${manifestOf(ref)}` : "blobs";
        throw new EcrPullDenied(
          `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${ref.normalized}: pulling from host ${ref.registry} failed with status code [${what}]: 403 Forbidden: ${err.code}: ${err.message}`,
        );
      }
    }
  }
}
