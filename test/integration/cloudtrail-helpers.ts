/** Shared helpers for the CloudTrail and S3 integration tests. */
import { Agent } from "node:http";
import { CloudTrailClient, LookupEventsCommand, type Event, type LookupAttributeKey } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, PutBucketPolicyCommand, type S3Client } from "@aws-sdk/client-s3";
import type { CredentialRecord, Principal } from "../../src/kernel/principal.ts";
import type { TestServer } from "../support/server.ts";
import type { LooseJson } from "../support/json.ts";

export const ACCOUNT = "000000000000";

/** The bucket policy AWS documents for a trail's bucket: CloudTrail may read the ACL and write log files. */
export function cloudTrailBucketPolicy(bucket: string): string {
  const service = { Service: "cloudtrail.amazonaws.com" };
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "AWSCloudTrailAclCheck", Effect: "Allow", Principal: service, Action: "s3:GetBucketAcl", Resource: `arn:aws:s3:::${bucket}` },
      {
        Sid: "AWSCloudTrailWrite",
        Effect: "Allow",
        Principal: service,
        Action: "s3:PutObject",
        Resource: `arn:aws:s3:::${bucket}/*`,
        Condition: { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } },
      },
    ],
  });
}

/** Creates a bucket a trail may deliver to (with CloudTrail's bucket policy). */
export async function createTrailBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: cloudTrailBucketPolicy(bucket) }));
}

/** The CloudTrail record inside a LookupEvents event. */
export function recordOf(e: Event): LooseJson {
  return JSON.parse(e.CloudTrailEvent!) as LooseJson;
}

/** Every event matching one attribute (all pages). */
export async function lookupAll(ct: CloudTrailClient, key?: LookupAttributeKey, value?: string, extra: { StartTime?: Date; EndTime?: Date } = {}): Promise<Event[]> {
  const out: Event[] = [];
  let NextToken: string | undefined;
  do {
    const r = await ct.send(new LookupEventsCommand({ ...(key ? { LookupAttributes: [{ AttributeKey: key, AttributeValue: value! }] } : {}), ...extra, NextToken }));
    out.push(...(r.Events ?? []));
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

/**
 * Adds access keys for an IAM user and an assumed-role session (as the IAM and STS services
 * would), so records can be checked for those principal types.
 */
export function addTestPrincipals(s: TestServer): { user: TestServer["config"]; role: TestServer["config"]; userPrincipal: Principal; rolePrincipal: Principal } {
  const created = new Date(Date.parse("2026-01-02T03:04:05Z"));
  const userPrincipal: Principal = {
    type: "IAMUser",
    accountId: ACCOUNT,
    arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
    principalId: "AIDAALICEEXAMPLE0001",
    userName: "alice",
    accessKeyId: "AKIAALICEEXAMPLE0001",
  };
  const rolePrincipal: Principal = {
    type: "AssumedRole",
    accountId: ACCOUNT,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Auditor/audit-session`,
    principalId: "AROAAUDITOREXAMPLE01:audit-session",
    accessKeyId: "ASIAAUDITOREXAMPLE01",
    session: {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/Auditor`,
      roleId: "AROAAUDITOREXAMPLE01",
      roleName: "Auditor",
      sessionName: "audit-session",
      issuerArn: `arn:aws:iam::${ACCOUNT}:role/Auditor`,
      issuerType: "Role",
      createdAt: created,
      expiresAt: new Date(Date.parse("2099-01-01T00:00:00Z")),
      mfaAuthenticated: false,
    },
  };
  const records: Record<string, CredentialRecord> = {
    AKIAALICEEXAMPLE0001: { secretAccessKey: "alice-secret", principal: userPrincipal, active: true },
    ASIAAUDITOREXAMPLE01: { secretAccessKey: "role-secret", principal: rolePrincipal, sessionToken: "role-session-token", active: true },
  };
  s.app.credentialProviders.unshift({ lookup: (id) => records[id] });
  return {
    user: s.configFor({ accessKeyId: "AKIAALICEEXAMPLE0001", secretAccessKey: "alice-secret" }),
    role: s.configFor({ accessKeyId: "ASIAAUDITOREXAMPLE01", secretAccessKey: "role-secret", sessionToken: "role-session-token" }),
    userPrincipal,
    rolePrincipal,
  };
}

/**
 * Request handler options that connect every host name to 127.0.0.1, so SDK clients can use
 * virtual-hosted-style S3 names like `bucket.localhost` without DNS.
 */
export function loopbackHandler(): { httpAgent: Agent } {
  const httpAgent = new Agent({
    keepAlive: true,
    lookup: ((_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
      if (opts?.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
      else cb(null, "127.0.0.1", 4);
    }) as never,
  });
  return { httpAgent };
}
