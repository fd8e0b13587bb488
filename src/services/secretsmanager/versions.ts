/**
 * Versions and staging labels: a new AWSCURRENT version moves the label from the old current
 * version, which gets AWSPREVIOUS; any other label given for the new version moves to it; a
 * secret keeps at most 100 versions, dropping the oldest unlabelled ones
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version).
 * A ClientRequestToken is the new version's id: the same token with the same value is a retry,
 * with another value a conflict.
 */
import type { RequestContext } from "../../kernel/context.ts";
import { err, type SecretRecord, type SecretVersionRecord } from "./state.ts";
import { openVersion, type SecretValue } from "./values.ts";

export const MAX_VERSIONS = 100;

/** Moves `stage` to version `to` (from wherever it is); AWSCURRENT leaves AWSPREVIOUS behind. */
export function moveStage(s: SecretRecord, stage: string, to: SecretVersionRecord | undefined): void {
  const from = s.versions.find((v) => v !== to && v.stages.includes(stage));
  if (from) from.stages = from.stages.filter((x) => x !== stage);
  if (to && !to.stages.includes(stage)) to.stages.push(stage);
  if (stage === "AWSCURRENT" && from && to) {
    for (const v of s.versions) if (v !== from) v.stages = v.stages.filter((x) => x !== "AWSPREVIOUS");
    if (!from.stages.includes("AWSPREVIOUS")) from.stages.push("AWSPREVIOUS");
  }
}

/** Adds a sealed version to `s` (a copy the caller will save) with its labels moved to it. */
export function addVersion(s: SecretRecord, v: SecretVersionRecord): void {
  const stages = v.stages;
  v.stages = [];
  s.versions.push(v);
  for (const stage of stages) moveStage(s, stage, v);
  while (s.versions.length > MAX_VERSIONS) {
    const oldest = s.versions.findIndex((x) => x.stages.length === 0);
    if (oldest < 0) break;
    s.versions.splice(oldest, 1);
  }
}

function sameValue(a: SecretValue, b: SecretValue): boolean {
  if ((a.binary === undefined) !== (b.binary === undefined)) return false;
  return a.binary ? a.binary.equals(b.binary!) : a.string === b.string;
}

/** true when the token names a version that already holds this value (a retry); a conflicting reuse throws. */
export async function checkRequestToken(ctx: RequestContext, s: SecretRecord, versionId: string, value: SecretValue): Promise<boolean> {
  const v = s.versions.find((x) => x.id === versionId);
  if (!v) return false;
  const old = await openVersion(ctx.app, ctx.principal, ctx.region, s, v);
  if (sameValue(old, value)) return true;
  throw err.exists("You can't modify an existing version, you can only create a new version.");
}
