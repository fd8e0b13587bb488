import { describe, it, expect } from "vitest";
import { ServiceError } from "../../kernel/errors.ts";
import { decodeAwsChunked, decodeS3Request, encodeS3Error, virtualHostBucket } from "./protocol.ts";
import { parseCreateBucketConfiguration } from "./xml.ts";
import { compareKeys, firstAfter, firstAtLeast } from "./storage.ts";
import type { RestHttpRequest } from "../../kernel/service.ts";

function req(method: string, url: string, host = "127.0.0.1:4566", headers: Record<string, string> = {}, body = Buffer.alloc(0)): RestHttpRequest {
  const q = url.indexOf("?");
  return {
    method,
    path: q >= 0 ? url.slice(0, q) : url,
    query: new URLSearchParams(q >= 0 ? url.slice(q + 1) : ""),
    headers: { host, ...headers },
    body,
    host,
  };
}

const none = () => false;

describe("virtualHostBucket", () => {
  it("reads the bucket from virtual-hosted-style names and leaves path-style hosts alone", () => {
    expect(virtualHostBucket("127.0.0.1:4566", none, false)).toBeUndefined();
    expect(virtualHostBucket("localhost:4566", none, false)).toBeUndefined();
    expect(virtualHostBucket("[::1]:4566", none, false)).toBeUndefined();
    expect(virtualHostBucket("s3.amazonaws.com", none, false)).toBeUndefined();
    expect(virtualHostBucket("s3.us-west-2.amazonaws.com", none, false)).toBeUndefined();
    expect(virtualHostBucket("s3.localhost.localstack.cloud:4566", none, false)).toBeUndefined();
    expect(virtualHostBucket("logs.localhost:4566", none, false)).toBe("logs");
    expect(virtualHostBucket("my.dotted.bucket.s3.us-east-1.amazonaws.com", none, false)).toBe("my.dotted.bucket");
    expect(virtualHostBucket("logs.s3.localhost.localstack.cloud:4566", none, false)).toBe("logs");
    expect(virtualHostBucket("logs.localhost.localstack.cloud", none, false)).toBe("logs");
    // Any other name: only when that bucket exists or is being created.
    expect(virtualHostBucket("ci.example.com", none, false)).toBeUndefined();
    expect(virtualHostBucket("ci.example.com", (b) => b === "ci", false)).toBe("ci");
    expect(virtualHostBucket("newbucket.example.com", none, true)).toBe("newbucket");
  });
});

describe("decodeS3Request", () => {
  it("maps methods, paths and sub-resources to operations", () => {
    const op = (m: string, u: string, host?: string, h?: Record<string, string>) => decodeS3Request(req(m, u, host, h), (b) => b === "bkt").operation;
    expect(op("GET", "/")).toBe("ListBuckets");
    expect(op("PUT", "/bkt")).toBe("CreateBucket");
    expect(op("DELETE", "/bkt")).toBe("DeleteBucket");
    expect(op("HEAD", "/bkt")).toBe("HeadBucket");
    expect(op("GET", "/bkt?location")).toBe("GetBucketLocation");
    expect(op("GET", "/bkt")).toBe("ListObjects");
    expect(op("GET", "/bkt?list-type=2&prefix=a")).toBe("ListObjectsV2");
    expect(op("GET", "/bkt/a/b.txt?x-id=GetObject")).toBe("GetObject");
    expect(op("HEAD", "/bkt/a")).toBe("HeadObject");
    expect(op("PUT", "/bkt/a")).toBe("PutObject");
    expect(op("DELETE", "/bkt/a")).toBe("DeleteObject");
    expect(op("GET", "/", "bkt.localhost:4566")).toBe("ListObjects");
    expect(op("GET", "/k", "bkt.localhost:4566")).toBe("GetObject");
    expect(op("PUT", "/", "fresh.localhost:4566")).toBe("CreateBucket");
    expect(op("GET", "/bkt?acl")).toBe("GetBucketAcl");
    expect(op("PUT", "/bkt?versioning")).toBe("PutBucketVersioning");
    expect(op("PUT", "/bkt?acl")).toBe("PutBucketAcl");
    expect(op("GET", "/bkt/a?acl")).toBe("GetObjectAcl");
    expect(op("PUT", "/bkt/a?acl")).toBe("PutObjectAcl");
    expect(() => op("DELETE", "/bkt/a?acl")).toThrow(/not implemented/);
    expect(op("GET", "/bkt?versions")).toBe("ListObjectVersions");
    expect(op("POST", "/bkt?delete")).toBe("DeleteObjects");
    expect(op("GET", "/bkt/a?tagging")).toBe("GetObjectTagging");
    expect(op("PUT", "/bkt/a?tagging")).toBe("PutObjectTagging");
    expect(op("DELETE", "/bkt/a?tagging")).toBe("DeleteObjectTagging");
    expect(() => op("POST", "/bkt/a?tagging")).toThrow(/not implemented/);
    expect(() => op("GET", "/bkt?cors")).toThrow(/not implemented/);
    expect(() => op("PUT", "/bkt/a", undefined, { "x-amz-copy-source": "/bkt/b" })).toThrow(/not implemented/);
  });

  it("percent-decodes bucket and key, keeping slashes and doubled slashes", () => {
    const d = decodeS3Request(req("GET", "/bkt/AWSLogs/000000000000/dir%20x//file%2Bplus.json.gz"), none);
    expect(d.input.Bucket).toBe("bkt");
    expect(d.input.Key).toBe("AWSLogs/000000000000/dir x//file+plus.json.gz");
  });

  it("collects x-amz-meta-* headers", () => {
    const d = decodeS3Request(req("PUT", "/bkt/k", undefined, { "x-amz-meta-signature": "abc", "x-amz-meta-signature-algorithm": "SHA256withRSA" }), none);
    expect(d.input.Metadata).toEqual({ signature: "abc", "signature-algorithm": "SHA256withRSA" });
  });

  it("removes aws-chunked framing from streaming uploads", () => {
    const body = Buffer.from("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
    const d = decodeS3Request(
      req(
        "PUT",
        "/bkt/k",
        undefined,
        { "content-encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-decoded-content-length": "11" },
        body,
      ),
      none,
    );
    expect(d.input.Body.toString()).toBe("hello world");
  });
});

describe("flexible checksums", () => {
  it("are verified from headers and trailers", () => {
    const chunked = (sum: string) =>
      req(
        "PUT",
        "/bkt/k",
        undefined,
        { "content-encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32" },
        Buffer.from(`b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:${sum}\r\n\r\n`),
      );
    expect(decodeS3Request(chunked("DUoRhQ=="), none).input.Body.toString()).toBe("hello world");
    expect(() => decodeS3Request(chunked("AAAAAA=="), none)).toThrow(/CRC32 you specified did not match/);
    const sha = (v: string) => req("PUT", "/bkt/k", undefined, { "x-amz-checksum-sha256": v }, Buffer.from("abc"));
    expect(() => decodeS3Request(sha("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="), none)).not.toThrow();
    expect(() => decodeS3Request(sha("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1="), none)).toThrow(/BadDigest|SHA256/);
  });
});

describe("decodeAwsChunked", () => {
  it("accepts signed chunks and returns trailers", () => {
    const body = Buffer.from("3;chunk-signature=aa\r\nabc\r\n0;chunk-signature=bb\r\nx-amz-checksum-sha256:xyz\r\n\r\n");
    const r = decodeAwsChunked(body, 3);
    expect(r.data.toString()).toBe("abc");
    expect(r.trailers).toEqual({ "x-amz-checksum-sha256": "xyz" });
  });
  it("refuses truncated bodies and wrong decoded lengths", () => {
    expect(() => decodeAwsChunked(Buffer.from("a\r\nshort\r\n"))).toThrow(ServiceError);
    expect(() => decodeAwsChunked(Buffer.from("3\r\nabc\r\n0\r\n\r\n"), 4)).toThrow(/number of bytes/);
  });
});

describe("S3 errors", () => {
  it("are S3 XML with code, message, extras and request id; auth errors use S3's codes", () => {
    const r = encodeS3Error(new ServiceError("NoSuchKey", "The specified key does not exist.", 404, { extra: { Key: "a&b" } }), "0f0e-11", req("GET", "/b/a"));
    expect(r.status).toBe(404);
    const xml = r.body.toString();
    expect(xml).toContain("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&amp;b</Key><RequestId>");
    const denied = encodeS3Error(new ServiceError("UnrecognizedClientException", "x", 400), "id", req("GET", "/"));
    expect(denied.status).toBe(403);
    expect(denied.body.toString()).toContain("<Code>InvalidAccessKeyId</Code>");
  });
});

describe("CreateBucketConfiguration", () => {
  it("reads the location constraint, and refuses documents of another kind", () => {
    expect(parseCreateBucketConfiguration(Buffer.alloc(0))).toBeUndefined();
    expect(
      parseCreateBucketConfiguration(
        Buffer.from(
          '<?xml version="1.0" encoding="UTF-8"?><CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>',
        ),
      ),
    ).toEqual({ LocationConstraint: "eu-west-1" });
    expect(parseCreateBucketConfiguration(Buffer.from("<CreateBucketConfiguration/>"))).toEqual({});
    expect(() => parseCreateBucketConfiguration(Buffer.from("<Other/>"))).toThrow();
  });
});

describe("key order", () => {
  it("is UTF-8 byte order, with binary search helpers", () => {
    const keys = ["a", "a/", "a/b", "b", "\uFF21", "\u{1F600}"].sort(compareKeys);
    expect(keys).toEqual(["a", "a/", "a/b", "b", "\uFF21", "\u{1F600}"]);
    expect(firstAfter(keys, "a/")).toBe(2);
    expect(firstAtLeast(keys, "a/")).toBe(1);
    expect(firstAtLeast(keys, "c")).toBe(4);
  });
});

describe("S3 Control requests", () => {
  const PATH = "/v20180820/configuration/publicAccessBlock";
  it("are the account's Block Public Access when x-amz-account-id or an s3-control host says so", () => {
    expect(decodeS3Request(req("GET", PATH, "127.0.0.1:4566", { "x-amz-account-id": "000000000000" }), none).operation).toBe("GetAccountPublicAccessBlock");
    expect(decodeS3Request(req("PUT", PATH, "000000000000.localhost:4566", { "x-amz-account-id": "000000000000" }), none).operation).toBe("PutAccountPublicAccessBlock");
    expect(decodeS3Request(req("DELETE", PATH, "s3-control.us-east-1.amazonaws.com"), none).operation).toBe("DeleteAccountPublicAccessBlock");
    expect(decodeS3Request(req("DELETE", PATH, "000000000000.s3-control.eu-west-1.amazonaws.com"), none).input.Bucket).toBeUndefined();
  });

  it("leave a bucket named v20180820 reachable path-style without the header", () => {
    const d = decodeS3Request(req("GET", PATH), none);
    expect(d.operation).toBe("GetObject");
    expect(d.input.Bucket).toBe("v20180820");
    expect(d.input.Key).toBe("configuration/publicAccessBlock");
  });

  it("answer NotImplemented for other S3 Control paths and MethodNotAllowed for other methods", () => {
    const h = { "x-amz-account-id": "000000000000" };
    expect(() => decodeS3Request(req("GET", "/v20180820/accesspoint", "127.0.0.1", h), none)).toThrow(expect.objectContaining({ code: "NotImplemented", status: 501 }));
    expect(() => decodeS3Request(req("POST", PATH, "127.0.0.1", h), none)).toThrow(expect.objectContaining({ code: "MethodNotAllowed", status: 405 }));
  });
});
