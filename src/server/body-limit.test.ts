import { describe, expect, it } from "vitest";
import { MAX_API_BODY, MAX_PUT_LOG_EVENTS_BODY, MAX_S3_BODY, MAX_UNSIGNED_BODY, requestBodyLimit } from "./body-limit.ts";

const SIG = "a".repeat(64);
const s3Auth = `AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIG}`;
const kmsAuth = s3Auth.replace("/s3/", "/kms/");
const presigned = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261206T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=${SIG}`;

describe("requestBodyLimit", () => {
  it.each([
    ["an unsigned POST", "POST", "/", {}, MAX_UNSIGNED_BODY],
    ["an unsigned PUT of an object", "PUT", "/bkt/key", {}, MAX_UNSIGNED_BODY],
    ["a control endpoint call", "POST", "/_localfargate/clock", {}, MAX_UNSIGNED_BODY],
    ["a signed JSON call", "POST", "/", { authorization: kmsAuth }, MAX_API_BODY],
    ["a PutLogEvents signed for logs", "POST", "/", { authorization: s3Auth.replace("/s3/", "/logs/"), "x-amz-target": "Logs_20140328.PutLogEvents" }, MAX_PUT_LOG_EVENTS_BODY],
    ["another Logs call", "POST", "/", { authorization: s3Auth.replace("/s3/", "/logs/"), "x-amz-target": "Logs_20140328.CreateLogGroup" }, MAX_API_BODY],
    ["a PutLogEvents target signed for another service", "POST", "/", { authorization: kmsAuth, "x-amz-target": "Logs_20140328.PutLogEvents" }, MAX_API_BODY],
    ["an S3 PutObject, path-style", "PUT", "/bkt/key", { authorization: s3Auth }, MAX_S3_BODY],
    ["an S3 PutObject, virtual-hosted", "PUT", "/key", { authorization: s3Auth, host: "bkt.s3.localhost:4566" }, MAX_S3_BODY],
    ["an S3 PutObject, presigned", "PUT", `/bkt/key?${presigned}`, {}, MAX_S3_BODY],
    ["an S3 CreateBucket", "PUT", "/bkt", { authorization: s3Auth }, MAX_API_BODY],
    ["an S3 Control PutPublicAccessBlock", "PUT", "/v20180820/configuration/publicAccessBlock", { authorization: s3Auth, "x-amz-account-id": "000000000000" }, MAX_API_BODY],
    [
      "an S3 Control call, host-prefixed",
      "PUT",
      "/v20180820/configuration/publicAccessBlock",
      { authorization: s3Auth, "x-amz-account-id": "000000000000", host: "000000000000.localhost:4566" },
      MAX_API_BODY,
    ],
    ["an S3 GET with a key", "GET", "/bkt/key", { authorization: s3Auth }, MAX_API_BODY],
    ["an S3 DELETE", "DELETE", "/bkt/key", { authorization: s3Auth }, MAX_API_BODY],
    ["an object PUT signed for another service", "PUT", "/bkt/key", { authorization: kmsAuth }, MAX_API_BODY],
    ["an object PUT with a malformed signature", "PUT", "/bkt/key", { authorization: s3Auth.replace(SIG, "00") }, MAX_API_BODY],
    ["a presigned PUT with a malformed signature", "PUT", `/bkt/key?${presigned.replace(SIG, "zz")}`, {}, MAX_API_BODY],
  ])("%s", (_name, method, url, headers, limit) => {
    expect(requestBodyLimit(method, url, headers as Record<string, string>)).toBe(limit);
  });
});
