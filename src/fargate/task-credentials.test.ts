import { describe, expect, it } from "vitest";
import type { AppContext } from "../kernel/context.ts";
import type { RoleCredentials } from "./port.ts";
import { credentialsBody, credentialsEnvironment, handleCredentialsRequest, isCredentialsPath } from "./task-credentials.ts";

const creds: RoleCredentials = {
  roleArn: "arn:aws:iam::000000000000:role/r",
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "secret",
  sessionToken: "token",
  expiration: new Date("2026-12-06T18:00:00.123Z"),
};

function appServing(id: string): AppContext {
  const roles = { credentials: async (asked: string) => (asked === id ? creds : undefined) };
  return { find: (name: string) => (name === "taskRoles" ? roles : undefined) } as unknown as AppContext;
}

describe("container credentials endpoint", () => {
  it("knows its paths and nothing beside them", () => {
    expect(isCredentialsPath("/v2/credentials")).toBe(true);
    expect(isCredentialsPath("/v2/credentials/abc")).toBe(true);
    expect(isCredentialsPath("/v2/credentialsX")).toBe(false);
    expect(isCredentialsPath("/v2/other")).toBe(false);
  });

  it("answers the agent's JSON with the expiration in whole seconds", () => {
    expect(credentialsBody(creds)).toEqual({ RoleArn: creds.roleArn, AccessKeyId: "ASIAEXAMPLE", SecretAccessKey: "secret", Token: "token", Expiration: "2026-12-06T18:00:00Z" });
  });

  it("serves only the id it was given, and refuses as the ECS agent does", async () => {
    const app = appServing("good-id");
    expect(await handleCredentialsRequest(app, "GET", "/v2/credentials/good-id")).toMatchObject({ status: 200, body: { AccessKeyId: "ASIAEXAMPLE" } });
    expect(await handleCredentialsRequest(app, "GET", "/v2/credentials/good-id/")).toEqual({
      status: 400,
      body: { code: "InvalidIdInRequest", message: "CredentialsV2Request: ID not found" },
    });
    expect(await handleCredentialsRequest(app, "GET", "/v2/credentials/")).toEqual({
      status: 400,
      body: { code: "NoIdInRequest", message: "CredentialsV2Request: No ID in the request" },
    });
    expect(await handleCredentialsRequest(app, "GET", "/v2/credentials")).toMatchObject({ status: 400, body: { code: "NoIdInRequest" } });
    expect((await handleCredentialsRequest(app, "PUT", "/v2/credentials/good-id")).status).toBe(405);
    // no ECS composed (or no task roles): nothing is served
    const none = { find: () => undefined } as unknown as AppContext;
    expect((await handleCredentialsRequest(none, "GET", "/v2/credentials/good-id")).status).toBe(400);
  });

  it("points host processes at loopback with the full URI, namespaced containers at 169.254.170.2 with the relative one", () => {
    expect(credentialsEnvironment("id1", { kind: "host", serverUrl: "http://127.0.0.1:4566" })).toEqual({
      AWS_ENDPOINT_URL: "http://127.0.0.1:4566",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:4566/v2/credentials/id1",
    });
    expect(credentialsEnvironment("id1", { kind: "namespace" })).toEqual({
      AWS_ENDPOINT_URL: "http://169.254.170.2",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/id1",
    });
    expect(credentialsEnvironment(undefined, { kind: "host", serverUrl: "http://127.0.0.1:4566" })).toEqual({ AWS_ENDPOINT_URL: "http://127.0.0.1:4566" });
  });
});
