/**
 * The scheduler commits a service and the service deployments it changed in one transaction:
 * a crash between two commits would leave a service INACTIVE (or rolling back) while its
 * deployment still says IN_PROGRESS with no rollback, which nothing would ever finish.
 */
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../kernel/context.ts";
import type { TaskPlane } from "../../fargate/port.ts";
import type { Store, WriteOp } from "../../store/store.ts";
import { reconcileServices } from "./scheduler.ts";
import { KIND_SERVICE_DEPLOYMENT, KIND_SERVICE_REVISION, serviceDeploymentArn, serviceRevisionArn, type ServiceDeploymentRecord } from "./service-history.ts";
import { EcsState, KIND_SERVICE, type ServiceRecord, type TaskRecord } from "./state.ts";

const ACCOUNT = "000000000000";
const CLUSTER = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/prod`;
const SERVICE = `arn:aws:ecs:us-east-1:${ACCOUNT}:service/prod/web`;

/** A store whose write ops name what they write, and which records each commit's ops. */
function recordingStore(): { store: Store; commits: string[][] } {
  const commits: string[][] = [];
  const store = {
    all: () => [],
    put: (kind: string, id: string) => `put ${kind} ${id}` as unknown as WriteOp,
    del: (kind: string, id: string) => `del ${kind} ${id}` as unknown as WriteOp,
    commit: async (ops: WriteOp[]) => void commits.push(ops as unknown as string[]),
  } as unknown as Store;
  return { store, commits };
}

describe("the service scheduler's commits", () => {
  it("a deleted service turns INACTIVE in the same commit that ends its deployment and deletes its revisions", async () => {
    const { store, commits } = recordingStore();
    const state = new EcsState(store);
    const now = new Date(1_800_000_000_000);
    state.clusters.set(CLUSTER, {
      arn: CLUSTER,
      name: "prod",
      accountId: ACCOUNT,
      region: "us-east-1",
      status: "ACTIVE",
      settings: [],
      capacityProviders: [],
      defaultCapacityProviderStrategy: [],
      tags: [],
      createdAt: now,
    });
    const revision = serviceRevisionArn(SERVICE, "1234567890123456789");
    const s = {
      arn: SERVICE,
      name: "web",
      accountId: ACCOUNT,
      region: "us-east-1",
      clusterArn: CLUSTER,
      clusterName: "prod",
      status: "DRAINING",
      desiredCount: 0,
      taskDefinition: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/web:1`,
      platformVersion: "1.4.0",
      deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 },
      deployments: [
        {
          id: "ecs-svc/1234567890123456789",
          status: "PRIMARY",
          taskDefinition: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/web:1`,
          desiredCount: 0,
          failedTasks: 0,
          createdAt: now,
          updatedAt: now,
          platformVersion: "1.4.0",
          rolloutState: "IN_PROGRESS",
          rolloutStateReason: "",
          kmsKeyArn: null,
          serviceRevisionArn: revision,
        },
      ],
      events: [],
      tags: [],
      enableECSManagedTags: false,
      enableExecuteCommand: false,
      createdAt: now,
      createdBy: `arn:aws:iam::${ACCOUNT}:root`,
      steady: false,
    } as ServiceRecord;
    state.services.set(SERVICE, s);
    state.history.revisions.set(revision, {
      arn: revision,
      accountId: ACCOUNT,
      region: "us-east-1",
      serviceArn: SERVICE,
      clusterArn: CLUSTER,
      taskDefinition: s.taskDefinition,
      platformVersion: "1.4.0",
      containerImages: [],
      kmsKeyArn: null,
      createdAt: now,
    });
    const sd: ServiceDeploymentRecord = {
      arn: serviceDeploymentArn(SERVICE),
      accountId: ACCOUNT,
      region: "us-east-1",
      serviceArn: SERVICE,
      clusterArn: CLUSTER,
      ecsDeploymentId: "ecs-svc/1234567890123456789",
      status: "IN_PROGRESS",
      createdAt: now,
      startedAt: now,
      updatedAt: now,
      sourceRevisions: [],
      targetRevisionArn: revision,
      target: { requestedTaskCount: 0 },
      deploymentConfiguration: {},
      circuitBreaker: { enabled: false, rollback: false, failureCount: 0, threshold: 3, status: "DISABLED" },
    };
    state.history.putDeployment(sd);
    const app = { clock: { now: () => now, realNowMs: () => 0 }, store, find: () => undefined } as unknown as AppContext;
    await reconcileServices({ app, state, plane: {} as TaskPlane<TaskRecord> });

    expect(s.status).toBe("INACTIVE");
    expect(sd.status).not.toBe("IN_PROGRESS");
    const together = commits.filter((ops) => ops.includes(`put ${KIND_SERVICE} ${SERVICE}`));
    expect(together).toHaveLength(1);
    expect(together[0]).toEqual(expect.arrayContaining([`put ${KIND_SERVICE_DEPLOYMENT} ${sd.arn}`, `del ${KIND_SERVICE_REVISION} ${revision}`]));
  });
});
