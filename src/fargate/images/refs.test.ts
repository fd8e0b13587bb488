import { describe, expect, it } from "vitest";
import { InvalidImageRefError, parseImageRef } from "./refs.ts";

const HEX = "a".repeat(64);

describe("parseImageRef", () => {
  it.each([
    ["busybox", "docker.io", "library/busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io", "library/busybox", "docker.io/library/busybox:1.36"],
    ["library/x", "docker.io", "library/x", "docker.io/library/x:latest"],
    ["team/app:v2", "docker.io", "team/app", "docker.io/team/app:v2"],
    ["index.docker.io/busybox", "docker.io", "library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io", "library/busybox", "docker.io/library/busybox:latest"],
    ["registry.example:5000/team/app:tag", "registry.example:5000", "team/app", "registry.example:5000/team/app:tag"],
    ["localhost/app", "localhost", "app", "localhost/app:latest"],
    ["localhost:5000/app:1", "localhost:5000", "app", "localhost:5000/app:1"],
    ["quay.io/a/b/c__d:x_Y.1-z", "quay.io", "a/b/c__d", "quay.io/a/b/c__d:x_Y.1-z"],
    [`repo@sha256:${HEX}`, "docker.io", "library/repo", `docker.io/library/repo@sha256:${HEX}`],
    [`r.example/repo:tag@sha256:${HEX}`, "r.example", "repo", `r.example/repo@sha256:${HEX}`],
  ])("%s", (image, registry, repository, normalized) => {
    const ref = parseImageRef(image);
    expect(ref).toMatchObject({ registry, repository, normalized, original: image });
    expect(ref.ecr).toBeUndefined();
  });

  it("defaults the tag only when there is no digest", () => {
    expect(parseImageRef("busybox").tag).toBe("latest");
    const pinned = parseImageRef(`busybox@sha256:${HEX}`);
    expect(pinned.tag).toBeUndefined();
    expect(pinned.digest).toBe(`sha256:${HEX}`);
  });

  it("recognises Amazon ECR registries with their account and region", () => {
    const ref = parseImageRef("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:tag");
    expect(ref).toMatchObject({ registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", repository: "app", tag: "tag", ecr: { accountId: "123456789012", region: "us-east-1" } });
    expect(parseImageRef("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/team/app").ecr).toEqual({ accountId: "123456789012", region: "us-gov-west-1" });
    expect(parseImageRef("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app").ecr).toEqual({ accountId: "123456789012", region: "cn-north-1" });
    // not ECR: a short account, a look-alike host
    expect(parseImageRef("12345.dkr.ecr.us-east-1.amazonaws.com/app").ecr).toBeUndefined();
    expect(parseImageRef("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app").ecr).toBeUndefined();
  });

  it.each([
    ["", "empty"],
    ["Busybox", "lowercase"],
    ["team/App", "lowercase"],
    ["busybox:", "tag"],
    ["busybox:-x", "tag"],
    [`busybox:${"t".repeat(129)}`, "tag"],
    ["busybox@sha256:abc", "digest"],
    [`busybox@sha256:${"A".repeat(64)}`, "digest"],
    [`busybox@md5:${HEX}`, "digest"],
    ["bad_host.example/app", "registry"],
    ["registry.example:5000/", "empty"],
    ["a//b", "component"],
    ["a/-b", "component"],
    ["a..b", "component"],
    ["a b", "white space"],
    ["../etc/passwd", "registry"],
    [`docker.io/${"a".repeat(250)}`, "longer"],
  ])("refuses %j", (image, reason) => {
    expect(() => parseImageRef(image)).toThrow(InvalidImageRefError);
    expect(() => parseImageRef(image)).toThrow(reason);
  });
});
