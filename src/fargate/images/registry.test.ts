import { describe, expect, it } from "vitest";
import { parseImageRef } from "./refs.ts";
import { inspectOptions, pullFailureReason, sourceOptions } from "./registry.ts";

const PREFIX = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref";

describe("pullFailureReason", () => {
  it("reads a refused connection as unreachable, even on a port with 404 in it", () => {
    const ref = parseImageRef("127.0.0.1:40404/team/app:v1");
    const stderr =
      'time="x" level=fatal msg="Error parsing image name: pinging container registry 127.0.0.1:40404: Get \\"http://127.0.0.1:40404/v2/\\": dial tcp 127.0.0.1:40404: connect: connection refused"';
    expect(pullFailureReason(ref, stderr)).toBe(
      `${PREFIX} 127.0.0.1:40404/team/app:v1: failed to do request: Head "http://127.0.0.1:40404/v2/team/app/manifests/v1": dial tcp 127.0.0.1:40404: connect: connection refused`,
    );
  });

  it("reads an unknown host as unreachable over https", () => {
    const ref = parseImageRef("registry.invalid/app");
    expect(pullFailureReason(ref, "pinging container registry registry.invalid: Get https://registry.invalid/v2/: dial tcp: lookup registry.invalid: no such host")).toBe(
      `${PREFIX} registry.invalid/app:latest: failed to do request: Head "https://registry.invalid/v2/app/manifests/latest": dial tcp: lookup registry.invalid: no such host`,
    );
  });

  it("reads 401 as access denied and manifest unknown as not found", () => {
    const ref = parseImageRef("r.example/app:v1");
    expect(pullFailureReason(ref, "reading manifest v1 in r.example/app: unauthorized: authentication required")).toMatch(
      /: pull access denied, repository does not exist or may require authorization/,
    );
    expect(pullFailureReason(ref, "reading manifest v1 in r.example/app: manifest unknown: manifest unknown")).toBe(`${PREFIX} r.example/app:v1: r.example/app:v1: not found`);
  });

  it("pulls anonymously, never with the host user's registry logins; TLS is skipped only on loopback", () => {
    const remote = parseImageRef("r.example/app:v1");
    const local = parseImageRef("127.0.0.1:5000/app:v1");
    expect(sourceOptions(remote)).toEqual(["--src-no-creds"]);
    expect(inspectOptions(remote)).toEqual(["--no-creds"]);
    expect(sourceOptions(local)).toEqual(["--src-no-creds", "--src-tls-verify=false"]);
    expect(inspectOptions(local)).toEqual(["--no-creds", "--tls-verify=false"]);
  });
});
