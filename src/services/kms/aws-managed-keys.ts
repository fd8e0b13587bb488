/**
 * AWS managed keys (KeyManager AWS): the key behind a predefined alias (`alias/aws/<service>`,
 * predefined-aliases.ts), created the first time DescribeKey names that alias, which is how AWS
 * services create them ("AWS services use DescribeKey to create AWS managed keys from a
 * predefined AWS alias with no key ID",
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html). Its key policy is
 * AWS's: the account may use the key only through the service (kms:ViaService, kms:CallerAccount)
 * and read its metadata directly; nothing lets anyone manage it, so every management call is
 * refused by the key policy, as in AWS
 * (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key). It
 * rotates every year.
 */
import { randomUUID } from "node:crypto";
import type { RequestContext } from "../../kernel/context.ts";
import { generateMaterial, sealMaterial } from "./material.ts";
import type { Kms } from "./core.ts";
import { PREDEFINED_ALIASES } from "./predefined-aliases.ts";
import { aliasArn, keyArn, KMS_ARN_RE, type AliasRecord, type KeyRecord } from "./state.ts";

const YEAR_DAYS = 365;
const DAY_MS = 86_400_000;

/** The service whose endpoint may use the key (kms:ViaService): the alias's, except EBS (EC2). */
function viaService(aliasName: string, region: string): string {
  const service = aliasName.slice("alias/aws/".length);
  return `${service === "ebs" ? "ec2" : service}.${region}.amazonaws.com`;
}

/** How the key policy's first statement names a service: AWS's own wording where we know it. */
const SERVICE_NAMES: Record<string, string> = { secretsmanager: "AWS Secrets Manager", ssm: "AWS Systems Manager" };
/** Key descriptions AWS gives, where we know them; the rest follow AWS's common pattern. */
const DESCRIPTIONS: Record<string, string> = {
  secretsmanager: "Default key that protects my Secrets Manager data when no other key is defined",
  ssm: "Default key that protects my SSM parameters when no other key is defined",
};

export function awsManagedKeyPolicy(accountId: string, region: string, aliasName: string): string {
  const service = aliasName.slice("alias/aws/".length);
  const named = SERVICE_NAMES[service] ?? service;
  return JSON.stringify({
    Version: "2012-10-17",
    Id: `auto-${service}`,
    Statement: [
      {
        Sid: `Allow access through ${named} for all principals in the account that are authorized to use ${named}`,
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
        Resource: "*",
        Condition: { StringEquals: { "kms:ViaService": viaService(aliasName, region), "kms:CallerAccount": accountId } },
      },
      {
        Sid: "Allow direct access to key metadata to the account",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
        Resource: "*",
      },
    ],
  });
}

/** The record of a new AWS managed key for a predefined alias (no key material yet). */
export function awsManagedKeyRecord(accountId: string, region: string, aliasName: string, now: Date): KeyRecord {
  const service = aliasName.slice("alias/aws/".length);
  const keyId = randomUUID();
  return {
    keyId,
    arn: keyArn(region, accountId, keyId),
    accountId,
    region,
    creationDate: now,
    description: DESCRIPTIONS[service] ?? `Default key that protects my ${service} resources when no other key is defined`,
    keyUsage: "ENCRYPT_DECRYPT",
    keySpec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    state: "Enabled",
    multiRegion: false,
    policy: awsManagedKeyPolicy(accountId, region, aliasName),
    tags: [],
    materials: [],
    rotationEnabled: true,
    rotationPeriodInDays: YEAR_DAYS,
    nextRotationDate: new Date(now.getTime() + YEAR_DAYS * DAY_MS),
    onDemandRotations: 0,
    keyManager: "AWS",
  };
}

/** The predefined alias a DescribeKey KeyId names (name or ARN, in the caller's account and Region), or undefined. */
function predefinedAliasNamed(ctx: RequestContext, value: string): string | undefined {
  const v = value.trim();
  let name = v;
  if (v.startsWith("arn:")) {
    const m = KMS_ARN_RE.exec(v);
    if (!m || m[4] !== "alias" || m[2] !== ctx.region || m[3] !== ctx.principal.accountId) return undefined;
    name = `alias/${m[5]}`;
  }
  return PREDEFINED_ALIASES.includes(name) ? name : undefined;
}

/** The AWS managed key DescribeKey would create for `value` (not yet stored), when it names a predefined alias with no key. */
export function awsManagedKeyToCreate(kms: Kms, ctx: RequestContext, value: string): { key: KeyRecord; aliasName: string } | undefined {
  const aliasName = predefinedAliasNamed(ctx, value);
  if (!aliasName) return undefined;
  const { accountId } = ctx.principal;
  if (kms.state.aliases.get(aliasArn(ctx.region, accountId, aliasName))) return undefined;
  const key = awsManagedKeyRecord(accountId, ctx.region, aliasName, ctx.now);
  return { key, aliasName };
}

/** Stores the AWS managed key and points its alias at it (with the request's writes). */
export async function createAwsManagedKey(kms: Kms, ctx: RequestContext, created: { key: KeyRecord; aliasName: string }): Promise<KeyRecord> {
  const m = sealMaterial(kms.state, kms.sealer, created.key.arn, await generateMaterial(created.key.keySpec), ctx.now);
  const key: KeyRecord = { ...created.key, materials: [m], currentMaterialId: m.id };
  kms.saveKey(ctx, key);
  const alias: AliasRecord = {
    aliasName: created.aliasName,
    aliasArn: aliasArn(ctx.region, key.accountId, created.aliasName),
    accountId: key.accountId,
    region: ctx.region,
    targetKeyArn: key.arn,
    creationDate: ctx.now,
    lastUpdatedDate: ctx.now,
  };
  kms.state.aliases.set(alias.aliasArn, alias);
  ctx.writes.push(kms.putAlias(alias));
  return key;
}
