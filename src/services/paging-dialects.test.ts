import { describe, expect, it } from "vitest";
import { ServiceError } from "../kernel/errors.ts";
import { ScopedIndex } from "../store/ordered-index.ts";
import { ECS_TOKENS, indexPage } from "./ecs/paging.ts";
import { IAM_TOKENS, paginate, paginateIndex } from "./iam/common.ts";
import { KMS_TOKENS, indexPageOf, pageOf } from "./kms/paging.ts";

/** The error a call throws, as code, status and message. */
function refusal(call: () => unknown): [string, number, string] {
  try {
    call();
  } catch (e) {
    if (e instanceof ServiceError) return [e.code, e.status, e.message];
    throw e;
  }
  throw new Error("no error");
}

const idx = new ScopedIndex<string>();
for (const k of ["a", "b", "c"]) idx.set("s", k, k);

describe("each service's paging dialect on the shared paging", () => {
  it("keeps each service's token prefix and resume style", () => {
    expect([ECS_TOKENS.prefix, ECS_TOKENS.resume]).toEqual(["lf2:", "after"]);
    expect([KMS_TOKENS.prefix, KMS_TOKENS.resume]).toEqual(["lfm1:", "after"]);
    expect([IAM_TOKENS.prefix, IAM_TOKENS.resume]).toEqual(["lf1:", "at"]);
  });

  it("answers a token the service did not issue with that service's error", () => {
    const iamMarker = paginate(["a", "b", "c"], (x) => x, undefined, 1).Marker!;
    const kmsMarker = pageOf(["a", "b", "c"], (x) => x, 1, undefined, 100).NextMarker!;
    const ecsToken = indexPage(idx, "s", { maxResults: 1 }, (x) => x).nextToken!;
    expect(refusal(() => indexPage(idx, "s", { nextToken: kmsMarker }, (x) => x))).toEqual(["InvalidParameterException", 400, "Invalid token"]);
    expect(refusal(() => indexPageOf(idx, "s", 1, ecsToken, 100))).toEqual(["InvalidMarkerException", 400, "Invalid marker"]);
    expect(refusal(() => pageOf(["a"], (x) => x, 1, "garbage!", 100))).toEqual(["InvalidMarkerException", 400, "Invalid marker"]);
    expect(refusal(() => paginateIndex(idx, "s", ecsToken, 1))).toEqual(["InvalidInput", 400, "Invalid Marker."]);
    expect(refusal(() => paginate(["a"], (x) => x, kmsMarker, 1))).toEqual(["InvalidInput", 400, "Invalid Marker."]);
    expect(refusal(() => paginate(["a"], (x) => x, "", 1))).toEqual(["InvalidInput", 400, "Invalid Marker."]);
    expect(paginateIndex(idx, "s", iamMarker, 5).items).toEqual(["b", "c"]);
  });

  it("answers each service's wire fields", () => {
    expect(indexPage(idx, "s", { maxResults: 2 }, (x) => x.toUpperCase())).toMatchObject({ items: ["A", "B"], nextToken: expect.any(String) });
    expect(indexPage(idx, "s", { nextToken: "" }, (x) => x)).toEqual({ items: ["a", "b", "c"], nextToken: undefined });
    expect(refusal(() => indexPage(idx, "s", { maxResults: 101 }, (x) => x))).toEqual(["InvalidParameterException", 400, "maxResults must be between 1 and 100."]);
    expect(indexPageOf(idx, "s", 2, undefined, 100)).toMatchObject({ items: ["a", "b"], Truncated: true, NextMarker: expect.any(String) });
    expect(indexPageOf(idx, "s", 5, undefined, 100)).toEqual({ items: ["a", "b", "c"], Truncated: false, NextMarker: undefined });
    expect(paginateIndex(idx, "s", undefined, 2)).toMatchObject({ items: ["a", "b"], IsTruncated: true, Marker: expect.any(String) });
    expect(paginateIndex(idx, "s", undefined, 5)).toEqual({ items: ["a", "b", "c"], IsTruncated: false });
  });
});
