/** SSM Parameter Store through @aws-sdk/client-ssm: parameters, SecureString under KMS, versions, labels, tags, tiers. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  SSMClient,
  PutParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  GetParametersByPathCommand,
  DescribeParametersCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  GetParameterHistoryCommand,
  LabelParameterVersionCommand,
  UnlabelParameterVersionCommand,
  AddTagsToResourceCommand,
  RemoveTagsFromResourceCommand,
  ListTagsForResourceCommand,
} from "@aws-sdk/client-ssm";
import { KMSClient, CreateKeyCommand, DisableKeyCommand, DescribeKeyCommand } from "@aws-sdk/client-kms";
import { IAMClient } from "@aws-sdk/client-iam";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let ssm: SSMClient;
let kms: KMSClient;

beforeAll(async () => {
  s = await startTestServer();
  ssm = new SSMClient(s.config);
  kms = new KMSClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

describe("parameters", () => {
  it("puts and gets String and StringList parameters with versions", async () => {
    expect(await ssm.send(new PutParameterCommand({ Name: "/app/db/host", Value: "db1", Type: "String" }))).toMatchObject({ Version: 1, Tier: "Standard" });
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "/app/db/host", Value: "db2", Type: "String" })),
      "ParameterAlreadyExists",
      400,
      "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    );
    expect((await ssm.send(new PutParameterCommand({ Name: "/app/db/host", Value: "db2", Overwrite: true }))).Version).toBe(2);
    const g = (await ssm.send(new GetParameterCommand({ Name: "/app/db/host" }))).Parameter!;
    expect(g).toMatchObject({ Name: "/app/db/host", Type: "String", Value: "db2", Version: 2, ARN: "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/host", DataType: "text" });
    expect((await ssm.send(new GetParameterCommand({ Name: "/app/db/host:1" }))).Parameter).toMatchObject({ Value: "db1", Version: 1, Selector: ":1" });
    await ssm.send(new PutParameterCommand({ Name: "plain", Value: "a,b,c", Type: "StringList" }));
    expect((await ssm.send(new GetParameterCommand({ Name: "plain" }))).Parameter!.ARN).toBe("arn:aws:ssm:us-east-1:000000000000:parameter/plain");
    expect((await ssm.send(new GetParameterCommand({ Name: "arn:aws:ssm:us-east-1:000000000000:parameter/plain" }))).Parameter!.Value).toBe("a,b,c");
    const hist = await ssm.send(new GetParameterHistoryCommand({ Name: "/app/db/host" }));
    expect(hist.Parameters!.map((p) => p.Value)).toEqual(["db1", "db2"]);
  });

  it("answers AWS's errors for bad input", async () => {
    await expectAwsError(ssm.send(new GetParameterCommand({ Name: "/nope" })), "ParameterNotFound", 400);
    await expectAwsError(ssm.send(new GetParameterCommand({ Name: "/app/db/host:9" })), "ParameterVersionNotFound", 400);
    await expectAwsError(ssm.send(new PutParameterCommand({ Name: "/awsy/x", Value: "v", Type: "String" })), "ValidationException", 400);
    await expectAwsError(ssm.send(new PutParameterCommand({ Name: "ssm-thing", Value: "v", Type: "String" })), "ValidationException", 400);
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "a/b", Value: "v", Type: "String" })),
      "ValidationException",
      400,
      "Parameter name must be a fully qualified name.",
    );
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "/notype", Value: "v" })),
      "ValidationException",
      400,
      "A parameter type is required when you create a parameter.",
    );
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "/big", Value: "x".repeat(4097), Type: "String" })),
      "ValidationException",
      400,
      /Standard tier parameters support a maximum/,
    );
    const deep = "/" + Array.from({ length: 16 }, (_, n) => `l${n}`).join("/");
    await expectAwsError(ssm.send(new PutParameterCommand({ Name: deep, Value: "v", Type: "String" })), "HierarchyLevelLimitExceededException", 400);
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "/pat", Value: "abc", Type: "String", AllowedPattern: "^[0-9]+$" })),
      "ParameterPatternMismatchException",
      400,
      "Parameter value, cannot be validated against allowedPattern: ^[0-9]+$",
    );
    await expectAwsError(ssm.send(new PutParameterCommand({ Name: "/pat", Value: "abc", Type: "String", AllowedPattern: "([" })), "InvalidAllowedPatternException", 400);
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "/app/db/host", Value: "x", Overwrite: true, Tags: [{ Key: "a", Value: "b" }] })),
      "ValidationException",
      400,
      /tags and overwrite can't be used together/,
    );
    await expectAwsError(ssm.send(new PutParameterCommand({ Name: "/kid", Value: "x", Type: "String", KeyId: "alias/x" })), "ValidationException", 400);
  });

  it("tiers: advanced allows 8 KB, never downgrades, intelligent tiering promotes", async () => {
    expect((await ssm.send(new PutParameterCommand({ Name: "/tier/adv", Value: "y".repeat(8000), Type: "String", Tier: "Advanced" }))).Tier).toBe("Advanced");
    await expectAwsError(
      ssm.send(new PutParameterCommand({ Name: "/tier/adv", Value: "small", Overwrite: true, Tier: "Standard" })),
      "ValidationException",
      400,
      /can't downgrade/,
    );
    expect((await ssm.send(new PutParameterCommand({ Name: "/tier/it", Value: "z".repeat(5000), Type: "String", Tier: "Intelligent-Tiering" }))).Tier).toBe("Advanced");
    expect((await ssm.send(new PutParameterCommand({ Name: "/tier/small", Value: "z", Type: "String", Tier: "Intelligent-Tiering" }))).Tier).toBe("Standard");
  });

  it("lists by path (one level or recursive), describes, pages and deletes", async () => {
    for (const n of ["/p/a", "/p/b", "/p/c/d", "/p/c/e"]) await ssm.send(new PutParameterCommand({ Name: n, Value: n, Type: "String" }));
    const one = await ssm.send(new GetParametersByPathCommand({ Path: "/p" }));
    expect(one.Parameters!.map((p) => p.Name)).toEqual(["/p/a", "/p/b"]);
    const first = await ssm.send(new GetParametersByPathCommand({ Path: "/p", Recursive: true, MaxResults: 3 }));
    expect(first.Parameters!.map((p) => p.Name)).toEqual(["/p/a", "/p/b", "/p/c/d"]);
    const rest = await ssm.send(new GetParametersByPathCommand({ Path: "/p", Recursive: true, MaxResults: 3, NextToken: first.NextToken }));
    expect(rest.Parameters!.map((p) => p.Name)).toEqual(["/p/c/e"]);
    await expectAwsError(ssm.send(new GetParametersByPathCommand({ Path: "/p", NextToken: "bogus" })), "InvalidNextToken", 400);
    const d = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Name", Option: "BeginsWith", Values: ["/p/c"] }] }));
    expect(d.Parameters!.map((p) => p.Name)).toEqual(["/p/c/d", "/p/c/e"]);
    const got = await ssm.send(new GetParametersCommand({ Names: ["/p/a", "/p/zzz"] }));
    expect(got.Parameters!.map((p) => p.Name)).toEqual(["/p/a"]);
    expect(got.InvalidParameters).toEqual(["/p/zzz"]);
    const del = await ssm.send(new DeleteParametersCommand({ Names: ["/p/a", "/p/zzz"] }));
    expect(del).toMatchObject({ DeletedParameters: ["/p/a"], InvalidParameters: ["/p/zzz"] });
    await ssm.send(new DeleteParameterCommand({ Name: "/p/b" }));
    await expectAwsError(ssm.send(new DeleteParameterCommand({ Name: "/p/b" })), "ParameterNotFound", 400);
  });

  it("labels versions (moving a label) and tags parameters", async () => {
    await ssm.send(new PutParameterCommand({ Name: "/lab", Value: "one", Type: "String" }));
    await ssm.send(new PutParameterCommand({ Name: "/lab", Value: "two", Overwrite: true }));
    expect(await ssm.send(new LabelParameterVersionCommand({ Name: "/lab", ParameterVersion: 1, Labels: ["prod", "1bad", "awsx"] }))).toMatchObject({
      InvalidLabels: ["1bad", "awsx"],
      ParameterVersion: 1,
    });
    expect((await ssm.send(new GetParameterCommand({ Name: "/lab:prod" }))).Parameter!.Value).toBe("one");
    await ssm.send(new LabelParameterVersionCommand({ Name: "/lab", Labels: ["prod"] }));
    expect((await ssm.send(new GetParameterCommand({ Name: "/lab:prod" }))).Parameter!.Value).toBe("two");
    expect(await ssm.send(new UnlabelParameterVersionCommand({ Name: "/lab", ParameterVersion: 2, Labels: ["prod", "none"] }))).toMatchObject({
      RemovedLabels: ["prod"],
      InvalidLabels: ["none"],
    });
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: "Parameter",
        ResourceId: "/lab",
        Tags: [
          { Key: "team", Value: "blue" },
          { Key: "x", Value: "y" },
        ],
      }),
    );
    await ssm.send(new RemoveTagsFromResourceCommand({ ResourceType: "Parameter", ResourceId: "/lab", TagKeys: ["x"] }));
    expect((await ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/lab" }))).TagList).toEqual([{ Key: "team", Value: "blue" }]);
    await expectAwsError(ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/missing" })), "InvalidResourceId", 400);
    await expectAwsError(ssm.send(new ListTagsForResourceCommand({ ResourceType: "Document", ResourceId: "/lab" })), "InvalidResourceType", 400);
  });
});

describe("SecureString", () => {
  it("encrypts under aws/ssm by default, decrypts only WithDecryption, and keeps no plaintext on disk", async () => {
    const marker = "SSM-PLAINTEXT-MARKER-93ab";
    await ssm.send(new PutParameterCommand({ Name: "/sec/default", Value: marker, Type: "SecureString" }));
    const hidden = (await ssm.send(new GetParameterCommand({ Name: "/sec/default" }))).Parameter!;
    expect(hidden.Value).not.toContain(marker);
    expect((await ssm.send(new GetParameterCommand({ Name: "/sec/default", WithDecryption: true }))).Parameter!.Value).toBe(marker);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/ssm" }))).KeyMetadata!.KeyManager).toBe("AWS");
    const md = (await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Name", Values: ["/sec/default"] }] }))).Parameters![0];
    expect(md.KeyId).toBe("alias/aws/ssm");
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    for (const f of walk(s.dataDir)) {
      if (f.endsWith("localfargate.lock")) continue;
      expect(readFileSync(f).includes(marker), f).toBe(false);
    }
  });

  it("uses a customer managed key with the PARAMETER_ARN context, and its key policy and state decide", async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await ssm.send(new PutParameterCommand({ Name: "/sec/cmk", Value: "s3cr3t", Type: "SecureString", KeyId: key.Arn }));
    const gen = (await lookupAll(new CloudTrailClient(s.config), "ResourceName", key.Arn)).map(recordOf).find((e) => e.eventName === "GenerateDataKey")!;
    expect(gen.requestParameters.encryptionContext).toEqual({ PARAMETER_ARN: "arn:aws:ssm:us-east-1:000000000000:parameter/sec/cmk" });
    expect(gen.sourceIPAddress).toBe("ssm.amazonaws.com");
    const creds = await userWithKey(new IAMClient(s.config), "param-reader", doc([allow("ssm:GetParameter")]));
    const reader = new SSMClient(s.configFor(creds));
    expect((await reader.send(new GetParameterCommand({ Name: "/sec/cmk" }))).Parameter!.Value).not.toBe("s3cr3t");
    await expectAwsError(reader.send(new GetParameterCommand({ Name: "/sec/cmk", WithDecryption: true })), "AccessDeniedException", 400);
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectAwsError(ssm.send(new GetParameterCommand({ Name: "/sec/cmk", WithDecryption: true })), "InvalidKeyId", 400);
    await expectAwsError(ssm.send(new PutParameterCommand({ Name: "/sec/cmk2", Value: "v", Type: "SecureString", KeyId: "alias/does-not-exist" })), "InvalidKeyId", 400);
  });

  it("does not record ParameterNotFound from GetParameter and DeleteParameter in CloudTrail, as AWS does not", async () => {
    await expectAwsError(ssm.send(new GetParameterCommand({ Name: "/unrecorded" })), "ParameterNotFound", 400);
    await expectAwsError(ssm.send(new DeleteParameterCommand({ Name: "/unrecorded" })), "ParameterNotFound", 400);
    await expectAwsError(ssm.send(new GetParameterHistoryCommand({ Name: "/unrecorded" })), "ParameterNotFound", 400);
    const names = (await lookupAll(new CloudTrailClient(s.config), "ResourceName", "arn:aws:ssm:us-east-1:000000000000:parameter/unrecorded")).map((e) => e.EventName);
    expect(names).toEqual(["GetParameterHistory"]);
  });

  it("records no parameter value in CloudTrail", async () => {
    await ssm.send(new PutParameterCommand({ Name: "/quiet", Value: "SSM-TRAIL-MARKER", Type: "String" }));
    const all = await lookupAll(new CloudTrailClient(s.config));
    expect(all.some((e) => e.CloudTrailEvent!.includes("SSM-TRAIL-MARKER"))).toBe(false);
  });
});
