/**
 * The AWS managed policies (arn:aws:iam::aws:policy/...): AWS's whole catalogue, each at its
 * default version, read from the catalogue the build makes (aws-managed-catalogue.ts) at the
 * first lookup. The catalogue does not carry policy IDs or descriptions: each policy's ID is
 * derived from its ARN (stable across starts and machines, in AWS's ANPA... form), and GetPolicy
 * has no Description for them (docs/iam-sts.md). AWS managed policies cannot be changed.
 */
import { createHash } from "node:crypto";
import { readCatalogue } from "./aws-managed-catalogue.ts";

export interface AwsManagedPolicy {
  name: string;
  path: string;
  id: string;
  description: string;
  versionId: string;
  document: string;
  createDate: Date;
  updateDate: Date;
}

export const awsManagedArn = (p: Pick<AwsManagedPolicy, "path" | "name">) => `arn:aws:iam::aws:policy${p.path}${p.name}`;

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** "ANPA" and 17 characters of the ARN's SHA-256, in the upper-case Base32 alphabet AWS's IDs use. */
export function awsManagedPolicyId(arn: string): string {
  const h = createHash("sha256").update(arn).digest();
  let id = "ANPA";
  for (let i = 0; i < 17; i++) id += ID_ALPHABET[h[i] % 32];
  return id;
}

let byArn: ReadonlyMap<string, AwsManagedPolicy> | undefined;

/** Every AWS managed policy by ARN, in name order (read once, at the first call). */
export function awsManagedPolicies(): ReadonlyMap<string, AwsManagedPolicy> {
  if (!byArn) {
    const map = new Map<string, AwsManagedPolicy>();
    for (const e of readCatalogue()) {
      const arn = awsManagedArn(e);
      map.set(arn, {
        name: e.name,
        path: e.path,
        id: awsManagedPolicyId(arn),
        description: "",
        versionId: e.versionId,
        document: e.document,
        createDate: new Date(e.createDate),
        updateDate: new Date(e.updateDate),
      });
    }
    byArn = map;
  }
  return byArn;
}
