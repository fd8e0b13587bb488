import { describe, expect, it } from "vitest";
import { ServiceError } from "../kernel/errors.ts";
import { CLOUDTRAIL_TAG_RULES } from "./cloudtrail/tag-operations.ts";
import { mergeTags as ecsMerge, validateTags as ecsValidate } from "./ecs/state.ts";
import { checkTagRequest, mergeTags as iamMerge, removeTags as iamRemove, requestTagContext as iamContext } from "./iam/common.ts";
import { checkTagKeys, checkTags, mergeTags } from "../kernel/tags.ts";
import { KMS_TAG_RULES, requestTagContext as kmsContext, validateTags as kmsValidate } from "./kms/keys.ts";

/** The error a call throws, as code, status and message; "accepted" when it throws none. */
function answer(call: () => unknown): [string, number, string] | "accepted" {
  try {
    call();
  } catch (e) {
    if (e instanceof ServiceError) return [e.code, e.status, e.message];
    throw e;
  }
  return "accepted";
}

const many = (n: number, key: (i: number) => string) => Array.from({ length: n }, (_, i) => key(i));

describe("each service's tag dialect on the shared tag rules keeps its wire answers", () => {
  it("ECS", () => {
    const bad = (message: string): [string, number, string] => ["InvalidParameterException", 400, message];
    expect(answer(() => ecsValidate(many(51, (i) => `k${i}`).map((key) => ({ key, value: "" }))))).toEqual(bad("Too many tags: a resource can have at most 50 tags."));
    expect(answer(() => ecsValidate([{ key: "" }]))).toEqual(bad("Tag keys must not be empty."));
    expect(answer(() => ecsValidate([{ value: "v" }]))).toEqual(bad("Tag keys must not be empty."));
    expect(answer(() => ecsValidate([{ key: "k".repeat(129) }]))).toEqual(bad("Tag keys can be at most 128 characters."));
    expect(answer(() => ecsValidate([{ key: "k", value: "v".repeat(257) }]))).toEqual(bad("Tag values can be at most 256 characters."));
    expect(answer(() => ecsValidate([{ key: "aws:x" }]))).toEqual(bad("Tag keys beginning with 'aws:' are reserved."));
    expect(answer(() => ecsValidate([{ key: "a" }, { key: "a" }]))).toBe("accepted");
    expect(ecsMerge([{ key: "a", value: "1" }], [{ key: "a" }, { key: "B", value: "2" }])).toEqual([
      { key: "a", value: "" },
      { key: "B", value: "2" },
    ]);
    const fifty = many(50, (i) => `k${i}`).map((key) => ({ key, value: "" }));
    expect(answer(() => ecsMerge(fifty, [{ key: "one-more" }]))).toEqual(bad("Too many tags: a resource can have at most 50 tags."));
  });

  it("KMS", () => {
    const bad = (message: string): [string, number, string] => ["TagException", 400, message];
    expect(answer(() => kmsValidate([{ TagKey: "aws:x", TagValue: "" }]))).toEqual(bad("Tags beginning with aws: are reserved"));
    expect(
      answer(() =>
        kmsValidate([
          { TagKey: "a", TagValue: "" },
          { TagKey: "a", TagValue: "" },
        ]),
      ),
    ).toEqual(bad("Duplicate tag keys"));
    expect(
      answer(() =>
        kmsValidate([
          { TagKey: "a", TagValue: "" },
          { TagKey: "A", TagValue: "" },
        ]),
      ),
    ).toBe("accepted");
    expect(answer(() => kmsValidate(many(51, (i) => `k${i}`).map((TagKey) => ({ TagKey, TagValue: "" }))))).toEqual(bad("Too many tags"));
    expect(answer(() => checkTagKeys(KMS_TAG_RULES, ["ok", "AWS:x"]))).toEqual(bad("Tags beginning with aws: are reserved"));
    const fifty = many(50, (i) => `k${i}`).map((TagKey) => ({ TagKey, TagValue: "" }));
    expect(answer(() => mergeTags(KMS_TAG_RULES, fifty, [{ TagKey: "x", TagValue: "" }]))).toEqual(bad("Too many tags"));
    expect(mergeTags(KMS_TAG_RULES, [{ TagKey: "a", TagValue: "1" }], [{ TagKey: "a", TagValue: "2" }])).toEqual([{ TagKey: "a", TagValue: "2" }]);
    expect(kmsContext([{ TagKey: "a", TagValue: "1" }])).toEqual({ "aws:TagKeys": ["a"], "aws:RequestTag/a": "1" });
  });

  it("IAM", () => {
    expect(
      answer(() =>
        checkTagRequest([
          { Key: "Env", Value: "a" },
          { Key: "env", Value: "b" },
        ]),
      ),
    ).toEqual(["InvalidInput", 400, "Duplicate tag keys found. Please note that Tag keys are case insensitive."]);
    expect(answer(() => checkTagRequest([{ Key: "aws:x", Value: "a" }]))).toBe("accepted");
    const fifty = many(50, (i) => `k${i}`).map((Key) => ({ Key, Value: "" }));
    for (const what of ["User", "Role", "Policy", "MFADevice"] as const) {
      expect(answer(() => iamMerge(fifty, [{ Key: "x", Value: "" }], what))).toEqual(["LimitExceeded", 409, `Cannot exceed quota for TagsPer${what}: 50`]);
    }
    expect(
      iamRemove(
        [
          { Key: "Env", Value: "a" },
          { Key: "x", Value: "b" },
        ],
        ["ENV"],
      ),
    ).toEqual([{ Key: "x", Value: "b" }]);
    expect(iamContext([{ Key: "a", Value: undefined }])).toEqual({ "aws:RequestTag/a": "", "aws:TagKeys": ["a"] });
  });

  it("CloudTrail", () => {
    const bad = (message: string): [string, number, string] => ["InvalidTagParameterException", 400, message];
    expect(answer(() => checkTags(CLOUDTRAIL_TAG_RULES, [{ Key: "aws:x" }]))).toEqual(bad("Tag keys beginning with aws: are reserved."));
    expect(answer(() => checkTags(CLOUDTRAIL_TAG_RULES, [{ Key: "k" }, { Key: "k" }]))).toEqual(bad("Duplicate tag key k."));
    expect(
      answer(() =>
        checkTags(
          CLOUDTRAIL_TAG_RULES,
          many(51, (i) => `k${i}`).map((Key) => ({ Key })),
        ),
      ),
    ).toBe("accepted");
    const fifty = many(50, (i) => `k${i}`).map((Key) => ({ Key }));
    expect(answer(() => mergeTags(CLOUDTRAIL_TAG_RULES, fifty, [{ Key: "x" }]))).toEqual([
      "TagsLimitExceededException",
      400,
      "The number of tags per trail has exceeded the permitted amount. Currently, the limit is 50.",
    ]);
    expect(mergeTags(CLOUDTRAIL_TAG_RULES, [{ Key: "a", Value: "1" }], [{ Key: "a" }, { Key: "b", Value: "2" }])).toEqual([{ Key: "a" }, { Key: "b", Value: "2" }]);
  });
});
