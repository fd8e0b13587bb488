/**
 * ECS's side of the data plane's port (src/fargate/port.ts): the KMS calls go through
 * app.invoke, so the key policy and grants authorize them and CloudTrail records them.
 */
import { servicePrincipal } from "../../auth/principal.ts";
import type { AppContext, InvokeOptions } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { CreateGrantParams, FargateKms, GenerateDataKeyWithoutPlaintextParams, ServiceCaller, TaskReports, TaskRoles } from "../../fargate/port.ts";
import type { ServiceClock } from "../../clock/clock.ts";
import type { EcsState, TaskRecord } from "./state.ts";
import { advance, recordContainer, requestStop, taskHealth } from "./task-lifecycle.ts";
import { STOPPED_RETENTION_MS } from "./tasks.ts";

function callerOptions(as: ServiceCaller): InvokeOptions {
  return { principal: servicePrincipal(as.service, as.accountId, as.invokedBy), region: as.region };
}

function dataKeyInput(p: GenerateDataKeyWithoutPlaintextParams): Record<string, unknown> {
  return { KeyId: p.keyArn, EncryptionContext: p.encryptionContext, NumberOfBytes: p.numberOfBytes };
}

function grantInput(p: CreateGrantParams): Record<string, unknown> {
  return {
    KeyId: p.keyArn,
    GranteePrincipal: p.granteePrincipal,
    Operations: p.operations,
    Constraints: { EncryptionContextSubset: p.encryptionContextSubset },
    ...(p.retiringPrincipal ? { RetiringPrincipal: p.retiringPrincipal } : {}),
  };
}

/** DryRun: KMS's DryRunOperationException means the call would have succeeded. */
async function dryRun(app: AppContext, operation: string, input: Record<string, unknown>, as: ServiceCaller): Promise<void> {
  try {
    await app.invoke("kms", operation, { ...input, DryRun: true }, callerOptions(as));
  } catch (e) {
    if (e instanceof ServiceError && e.code === "DryRunOperationException") return;
    throw e;
  }
  throw new ServiceError("KMSInternalException", `KMS answered the DryRun ${operation} without DryRunOperationException`, 500);
}

export function invokeFargateKms(app: AppContext): FargateKms {
  return {
    async generateDataKeyWithoutPlaintext(p, as) {
      const out = await app.invoke<{ CiphertextBlob: Uint8Array }>("kms", "GenerateDataKeyWithoutPlaintext", dataKeyInput(p), callerOptions(as));
      return { ciphertextBlob: Buffer.from(out.CiphertextBlob) };
    },
    generateDataKeyWithoutPlaintextDryRun: (p, as) => dryRun(app, "GenerateDataKeyWithoutPlaintext", dataKeyInput(p), as),
    async createGrant(p, as) {
      const out = await app.invoke<{ GrantId: string; GrantToken: string }>("kms", "CreateGrant", grantInput(p), callerOptions(as));
      return { grantId: out.GrantId, grantToken: out.GrantToken };
    },
    createGrantDryRun: (p, as) => dryRun(app, "CreateGrant", grantInput(p), as),
    async decrypt(p, as) {
      const out = await app.invoke<{ Plaintext: Uint8Array }>(
        "kms",
        "Decrypt",
        { KeyId: p.keyArn, CiphertextBlob: p.ciphertextBlob, EncryptionContext: p.encryptionContext, GrantTokens: p.grantTokens },
        callerOptions(as),
      );
      return { plaintext: Buffer.from(out.Plaintext) };
    },
    async retireGrant(p, as) {
      await app.invoke("kms", "RetireGrant", { KeyId: p.keyArn, GrantId: p.grantId }, callerOptions(as));
    },
  };
}

/** The data plane's reports land in ECS's records (task-lifecycle.ts), saved, and the control loop told. */
export function ecsTaskReports(state: EcsState, clock: ServiceClock, roles?: TaskRoles<TaskRecord>): TaskReports<TaskRecord> {
  return {
    async transition(t, status) {
      // Once the containers have stopped, the task's role credentials are no longer served.
      if (status === "DEPROVISIONING" || status === "STOPPED") roles?.endTaskRole(t);
      const now = clock.now();
      if (!advance(t.task, status, now)) return;
      if (status === "STOPPED") t.expiresAtMs = now.getTime() + STOPPED_RETENTION_MS;
      await state.saveTask(t);
      state.emitTaskChange(t);
    },
    stopRequested: (t, stopCode, reason) => void requestStop(t.task, stopCode, reason, clock.now()),
    containerChanged(t, report) {
      if (!recordContainer(t.task, t.id, report)) return;
      const health = taskHealth(t.task, t.containerDefs);
      if (health === t.task.healthStatus) return;
      t.task.healthStatus = health;
      // the service scheduler counts and replaces tasks by their health
      state.emitTaskChange(t);
    },
    save: (t) => state.saveTask(t),
    byMetadataToken(token) {
      const arn = state.byToken.get(token);
      return arn ? state.tasks.get(arn) : undefined;
    },
  };
}
