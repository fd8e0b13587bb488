/** Shared helpers for the IAM and STS integration tests. */
import { expect } from "vitest";
import { IAMClient, CreateAccessKeyCommand, CreateUserCommand, CreateVirtualMFADeviceCommand, EnableMFADeviceCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { base32Decode, codeAt, stepAt } from "../../src/services/iam/totp.ts";

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
export const allow = (action: string | string[], resource: string | string[] = "*", extra: Record<string, unknown> = {}) => ({
  Effect: "Allow",
  Action: action,
  Resource: resource,
  ...extra,
});
export const deny = (action: string | string[], resource: string | string[] = "*", extra: Record<string, unknown> = {}) => ({
  Effect: "Deny",
  Action: action,
  Resource: resource,
  ...extra,
});

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

/** A virtual MFA device enabled for a user, and the codes it shows, computed from the server's clock. */
export interface EnabledMfa {
  serial: string;
  seed: string;
  /** the device's code `offset` steps after the step the server's clock is in now */
  code(offset?: number): Promise<string>;
}

/** The TOTP step the server's service clock is in. */
export async function serverStep(url: string): Promise<number> {
  const now = Date.parse(((await (await fetch(`${url}/_localfargate/clock`)).json()) as { now: string }).now);
  return stepAt(now);
}

/** Creates a virtual MFA device named like the user and enables it with its two latest codes. */
export async function enableMfa(iam: IAMClient, url: string, userName: string, deviceName = userName): Promise<EnabledMfa> {
  const created = await iam.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: deviceName }));
  const serial = created.VirtualMFADevice!.SerialNumber!;
  const seed = Buffer.from(created.VirtualMFADevice!.Base32StringSeed!).toString("ascii");
  const key = base32Decode(seed)!;
  const now = await serverStep(url);
  await iam.send(new EnableMFADeviceCommand({ UserName: userName, SerialNumber: serial, AuthenticationCode1: codeAt(key, now - 1), AuthenticationCode2: codeAt(key, now) }));
  return { serial, seed, code: async (offset = 1) => codeAt(key, (await serverStep(url)) + offset) };
}
