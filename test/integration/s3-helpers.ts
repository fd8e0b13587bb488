/** What S3 tests share: how an S3 error reaches the SDK's caller, and the check that a call fails with it. */
import { expect } from "vitest";

export interface S3Failure {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

/** The error a call fails with (the test fails if it succeeds). */
export async function s3Failure(p: Promise<unknown>): Promise<S3Failure> {
  const e = (await p.then(
    () => undefined,
    (x: unknown) => x,
  )) as S3Failure | undefined;
  expect(e, "expected the call to fail").toBeDefined();
  return e!;
}

/** The call fails with this S3 error code, HTTP status and, when given, message. */
export async function s3Fails(p: Promise<unknown>, code: string, status: number, message?: string): Promise<S3Failure> {
  const e = await s3Failure(p);
  expect(e.Code ?? e.name).toBe(code);
  expect(e.$metadata?.httpStatusCode).toBe(status);
  if (message !== undefined) expect(e.message).toBe(message);
  return e;
}
