/** Shared helpers for the IAM and STS integration tests. */
import { expect } from "vitest";
import { IAMClient, CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";

export const ACCOUNT = "000000000000";

/** Awaits a call that must fail with the given AWS error code, HTTP status and (optionally) message. */
export async function expectAwsError(p: Promise<unknown>, code: string, status: number, message?: string | RegExp): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  let err: (Error & { $metadata?: { httpStatusCode?: number } }) | undefined;
  try {
    await p;
  } catch (e) {
    err = e as Error & { $metadata?: { httpStatusCode?: number } };
  }
  expect(err, `expected ${code}`).toBeDefined();
  expect(err!.name).toBe(code);
  expect(err!.$metadata?.httpStatusCode).toBe(status);
  if (typeof message === "string") expect(err!.message).toBe(message);
  else if (message) expect(err!.message).toMatch(message);
  return err!;
}

export const doc = (statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
export const allow = (action: string | string[], resource: string | string[] = "*", extra: Record<string, unknown> = {}) => ({ Effect: "Allow", Action: action, Resource: resource, ...extra });
export const deny = (action: string | string[], resource: string | string[] = "*", extra: Record<string, unknown> = {}) => ({ Effect: "Deny", Action: action, Resource: resource, ...extra });

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Creates a user with an access key and, optionally, an inline policy; returns its credentials. */
export async function userWithKey(iam: IAMClient, name: string, policy?: string): Promise<Creds> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  if (policy) await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "inline", PolicyDocument: policy }));
  const k = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { accessKeyId: k.AccessKey!.AccessKeyId!, secretAccessKey: k.AccessKey!.SecretAccessKey! };
}

export const trustAccount = (account = ACCOUNT) => doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "sts:AssumeRole" }]);
export const trustPrincipal = (arn: string, extra: Record<string, unknown> = {}) => doc([{ Effect: "Allow", Principal: { AWS: arn }, Action: "sts:AssumeRole", ...extra }]);
