/**
 * "Never a 500": every implemented operation of every service, sent inputs generated from its
 * own input shape (valid types with awkward values: empty and oversized strings, ARNs and
 * aliases that name nothing, boundary numbers, empty lists), signed as the root user. Real
 * resources made first (keys, an alias, a user, a role, a policy, a cluster, a task definition,
 * a trail and its bucket) are among the names the inputs use, so calls reach past "not found".
 * Whatever the input, the answer is the service's own success or 4xx error in its protocol's shape.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import fc from "fast-check";
import { request as httpRequest } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import { KMSClient, CreateKeyCommand, CreateAliasCommand, DisableKeyCommand, ReplicateKeyCommand } from "@aws-sdk/client-kms";
import {
  IAMClient,
  CreateUserCommand,
  CreateRoleCommand,
  CreatePolicyCommand,
  CreateGroupCommand,
  GenerateServiceLastAccessedDetailsCommand,
  UploadServerCertificateCommand,
  UploadSigningCertificateCommand,
  UploadSSHPublicKeyCommand,
  CreateServiceSpecificCredentialCommand,
} from "@aws-sdk/client-iam";
import { ECSClient, CreateCapacityProviderCommand, CreateClusterCommand, CreateServiceCommand, CreateTaskSetCommand, ListServiceDeploymentsCommand } from "@aws-sdk/client-ecs";
import { S3Client } from "@aws-sdk/client-s3";
import { createTrailBucket } from "./cloudtrail-helpers.ts";
import { CloudTrailClient, CreateTrailCommand } from "@aws-sdk/client-cloudtrail";
import { SecretsManagerClient, CreateSecretCommand, DeleteSecretCommand } from "@aws-sdk/client-secrets-manager";
import { SSMClient, PutParameterCommand } from "@aws-sdk/client-ssm";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper } from "./ecs-helpers.ts";
import { trustAccount } from "./iam-helpers.ts";
import { selfSigned, sshKey } from "../support/credential-files.ts";
import { Sha256, signedFetch } from "../support/signed-fetch.ts";
import type { ServiceShapes, Shape } from "../../src/protocol/shapes/types.ts";
import { kmsShapes } from "../../src/protocol/shapes/kms.gen.ts";
import { ecsShapes } from "../../src/protocol/shapes/ecs.gen.ts";
import { cloudtrailShapes } from "../../src/protocol/shapes/cloudtrail.gen.ts";
import { iamShapes } from "../../src/protocol/shapes/iam.gen.ts";
import { stsShapes } from "../../src/protocol/shapes/sts.gen.ts";
import { cloudwatchlogsShapes } from "../../src/protocol/shapes/cloudwatchlogs.gen.ts";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { secretsmanagerShapes } from "../../src/protocol/shapes/secretsmanager.gen.ts";
import { ssmShapes } from "../../src/protocol/shapes/ssm.gen.ts";
import { organizationsShapes } from "../../src/protocol/shapes/organizations.gen.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
let s: TestServer;
/** Names and ids of the resources made in beforeAll. */
const known: string[] = [];
beforeAll(async () => {
  s = await startTestServer();
  const kms = new KMSClient(s.config);
  for (const spec of [
    {},
    { KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" },
    { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" },
    { Origin: "EXTERNAL" },
    { KeySpec: "ECC_NIST_P256", KeyUsage: "KEY_AGREEMENT" },
  ] as const) {
    const k = (await kms.send(new CreateKeyCommand(spec))).KeyMetadata!;
    known.push(k.KeyId!, k.Arn!);
  }
  await kms.send(new CreateAliasCommand({ AliasName: "alias/fuzz", TargetKeyId: known[0] }));
  // a multi-Region primary with a replica: ReplicateKey and UpdatePrimaryRegion reach their own checks
  const mrk = (await kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!;
  await kms.send(new ReplicateKeyCommand({ KeyId: mrk.KeyId, ReplicaRegion: "eu-west-1" }));
  known.push(mrk.KeyId!, mrk.Arn!, "eu-west-1", "us-east-1");
  const disabled = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }));
  known.push(disabled.KeyId!);
  const iam = new IAMClient(s.config);
  await iam.send(new CreateUserCommand({ UserName: "fuzz" }));
  await iam.send(new CreateGroupCommand({ GroupName: "fuzz" }));
  await iam.send(new CreateRoleCommand({ RoleName: "fuzz", AssumeRolePolicyDocument: trustAccount() }));
  await iam.send(
    new CreatePolicyCommand({ PolicyName: "fuzz", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }),
  );
  // a server certificate, a signing certificate and an SSH key to find, and PEM material to send as any string
  const cert = selfSigned("fuzz");
  const other = selfSigned("fuzz-other");
  const ssh = sshKey();
  await iam.send(new UploadServerCertificateCommand({ ServerCertificateName: "fuzz", CertificateBody: cert.cert, PrivateKey: cert.key }));
  const signing = await iam.send(new UploadSigningCertificateCommand({ UserName: "fuzz", CertificateBody: cert.cert }));
  const sshId = (await iam.send(new UploadSSHPublicKeyCommand({ UserName: "fuzz", SSHPublicKeyBody: ssh.openssh }))).SSHPublicKey!.SSHPublicKeyId!;
  const serviceCredential = await iam.send(new CreateServiceSpecificCredentialCommand({ UserName: "fuzz", ServiceName: "codecommit.amazonaws.com" }));
  known.push(serviceCredential.ServiceSpecificCredential!.ServiceSpecificCredentialId!, "codecommit.amazonaws.com");
  known.push(signing.Certificate!.CertificateId!, sshId, cert.cert, cert.key, other.cert, other.key, ssh.openssh, ssh.pem);
  known.push("fuzz", "arn:aws:iam::000000000000:role/fuzz", "arn:aws:iam::000000000000:user/fuzz", "arn:aws:iam::000000000000:group/fuzz");
  // a service last accessed job, and a namespace its report has
  known.push((await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: "arn:aws:iam::000000000000:role/fuzz" }))).JobId!, "kms");
  const ecs = new ECSClient(s.config);
  await ecs.send(new CreateClusterCommand({ clusterName: "fuzz" }));
  const fargateKey = await createFargateKey(kms, ["default", "fuzz"]);
  known.push(fargateKey.keyId);
  await ecs.send(new CreateClusterCommand({ clusterName: "default", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: fargateKey.arn } } }));
  // a task that ends at once: generated RunTask and CreateService calls may start it
  const fuzzDef = await registerSleeper(ecs, "fuzz", [{ name: "app", image: "busybox", command: ["true"], essential: true }]);
  known.push(fuzzDef);
  // an EXTERNAL service with a task set (scale 0: generated calls may scale it), for the task set operations
  await ecs.send(new CreateServiceCommand({ cluster: "fuzz", serviceName: "fuzz-ext", deploymentController: { type: "EXTERNAL" } }));
  const taskSet = (
    await ecs.send(
      new CreateTaskSetCommand({
        cluster: "fuzz",
        service: "fuzz-ext",
        taskDefinition: fuzzDef,
        launchType: "FARGATE",
        networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-12345678"] } },
        scale: { value: 0, unit: "PERCENT" },
      }),
    )
  ).taskSet!;
  known.push("fuzz-ext", taskSet.id!, taskSet.taskSetArn!);
  // a service with no tasks: its deployment and revision ARNs are among the names
  await ecs.send(new CreateServiceCommand({ cluster: "fuzz", serviceName: "fuzz", taskDefinition: "fuzz", desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
  const deployment = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: "fuzz", service: "fuzz" }))).serviceDeployments![0];
  known.push(deployment.serviceDeploymentArn!, deployment.targetServiceRevisionArn!);
  const asg = "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:0f6b2a5e-1111-4222-8333-944455556666:autoScalingGroupName/fuzz";
  await ecs.send(new CreateCapacityProviderCommand({ name: "fuzz-cp", autoScalingGroupProvider: { autoScalingGroupArn: asg } }));
  known.push("fuzz-cp", "FARGATE", asg, "containerInsights", "arn:aws:iam::000000000000:root");
  const s3 = new S3Client({ ...s.config, forcePathStyle: true });
  await createTrailBucket(s3, "fuzz-trail");
  await createTrailBucket(s3, "fuzz-empty");
  const trail = await new CloudTrailClient(s.config).send(new CreateTrailCommand({ Name: "fuzz", S3BucketName: "fuzz-trail" }));
  known.push(trail.TrailARN!, "fuzz-trail");
  const logs = new CloudWatchLogsClient(s.config);
  await logs.send(new CreateLogGroupCommand({ logGroupName: "fuzz" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "fuzz", logStreamName: "fuzz" }));
  await logs.send(new PutLogEventsCommand({ logGroupName: "fuzz", logStreamName: "fuzz", logEvents: [{ timestamp: 1, message: "fuzz" }] }));
  known.push(
    "arn:aws:logs:us-east-1:000000000000:log-group:fuzz",
    "arn:aws:logs:us-east-1:000000000000:log-group:fuzz:*",
    "f/00000000000000000000000000000000000000000000000000000000",
  );
  const sm = new SecretsManagerClient(s.config);
  const secret = await sm.send(new CreateSecretCommand({ Name: "fuzz-secret", SecretString: "v", KmsKeyId: known[1] }));
  await sm.send(new CreateSecretCommand({ Name: "fuzz-deleted", SecretString: "v" }));
  await sm.send(new DeleteSecretCommand({ SecretId: "fuzz-deleted" }));
  known.push(secret.ARN!, "fuzz-secret", "fuzz-deleted", secret.VersionId!);
  const ssm = new SSMClient(s.config);
  await ssm.send(new PutParameterCommand({ Name: "/fuzz/p", Value: "v", Type: "String" }));
  await ssm.send(new PutParameterCommand({ Name: "/fuzz/secure", Value: "v", Type: "SecureString", KeyId: known[1] }));
  known.push("/fuzz/p", "/fuzz/secure", "/fuzz", "/fuzz/p:1", "AWSCURRENT", "Parameter");
});
afterAll(() => s?.close());

const KEY = "1234abcd-12ab-34cd-56ef-1234567890ab";
const awkwardString = () =>
  fc.oneof(
    fc.constantFrom(...known),
    fc.constantFrom(
      "",
      " ",
      "default",
      "alias/aws/ebs",
      "alias/fuzz",
      `arn:aws:kms:us-east-1:000000000000:key/${KEY}`,
      `arn:aws:kms:eu-west-1:111122223333:alias/x`,
      KEY,
      "mrk-1234abcd12ab34cd56ef1234567890ab",
      "arn:aws:iam::000000000000:user/fuzz",
      "arn:aws:iam::000000000000:policy/fuzz",
      "arn:aws:ecs:us-east-1:000000000000:cluster/default",
      "arn:aws:cloudtrail:us-east-1:000000000000:trail/fuzz",
      "fuzz:1",
      "{ $.a = 1 }",
      "?ERROR -x",
      "*",
      "{}",
      '{"Version":"2012-10-17","Statement":[]}',
      "../..",
      "\u0000",
      "ünïcødé",
    ),
    fc.string({ maxLength: 24 }),
    fc.string({ minLength: 300, maxLength: 2100 }),
  );
const awkwardNumber = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(7, 21, 30, 90, 200, 365, 1000, 1024, 2560, 4097, 2147483647, -2147483648));

function arbitraryFor(shapes: ServiceShapes, name: string, depth = 0): fc.Arbitrary<unknown> {
  const shape: Shape | undefined = shapes.shapes[name];
  if (!shape) return fc.constant(null);
  switch (shape.type) {
    case "structure": {
      if (depth > 4) return fc.constant({});
      const members = Object.fromEntries(Object.entries(shape.members).map(([k, m]) => [k, arbitraryFor(shapes, m.target, depth + 1)]));
      const required = (shape.required ?? []).filter((k) => k in members);
      return fc.record(members, { requiredKeys: required });
    }
    case "list":
      return fc.array(arbitraryFor(shapes, shape.member, depth + 1), { maxLength: depth > 3 ? 0 : 3 });
    case "map":
      return fc.dictionary(fc.oneof(awkwardString(), fc.constantFrom("kms:EncryptionContext:a", "Purpose")), arbitraryFor(shapes, shape.value, depth + 1), { maxKeys: 3 });
    case "string":
      return shape.enum ? fc.oneof(fc.constantFrom(...shape.enum), awkwardString()) : awkwardString();
    case "blob":
      return fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString("base64"));
    case "integer":
    case "long":
      return awkwardNumber;
    case "double":
    case "float":
      return fc.oneof(awkwardNumber, fc.double({ noNaN: true, noDefaultInfinity: true }));
    case "boolean":
      return fc.boolean();
    case "timestamp":
      return fc.integer({ min: 0, max: 4_000_000_000 });
    case "document":
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** awsQuery parameters for a value of `name`, AWS's flattening rules (member.N, entry.N.key). */
function queryParams(shapes: ServiceShapes, name: string, value: unknown, prefix: string, out: [string, string][]): void {
  const shape = shapes.shapes[name];
  if (!shape || value === undefined || value === null) return;
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  switch (shape.type) {
    case "structure":
      for (const [k, m] of Object.entries(shape.members)) queryParams(shapes, m.target, (value as Record<string, unknown>)[k], at(m.xmlName ?? k), out);
      return;
    case "list":
      (value as unknown[]).forEach((v, i) => queryParams(shapes, shape.member, v, shape.flattened ? `${prefix}.${i + 1}` : `${prefix}.member.${i + 1}`, out));
      return;
    case "map":
      Object.entries(value as Record<string, unknown>).forEach(([k, v], i) => {
        out.push([`${prefix}.entry.${i + 1}.key`, k]);
        queryParams(shapes, shape.value, v, `${prefix}.entry.${i + 1}.value`, out);
      });
      return;
    case "timestamp":
      out.push([prefix, new Date((value as number) * 1000).toISOString()]);
      return;
    default:
      out.push([prefix, String(value)]);
  }
}

interface Target {
  service: string;
  shapes: ServiceShapes;
  protocol: "json" | "query";
  targetPrefix?: string;
}
const targets: Target[] = [
  { service: "kms", shapes: kmsShapes, protocol: "json", targetPrefix: "TrentService" },
  { service: "ecs", shapes: ecsShapes, protocol: "json", targetPrefix: "AmazonEC2ContainerServiceV20141113" },
  { service: "cloudtrail", shapes: cloudtrailShapes, protocol: "json", targetPrefix: "CloudTrail_20131101" },
  { service: "logs", shapes: cloudwatchlogsShapes, protocol: "json", targetPrefix: "Logs_20140328" },
  { service: "iam", shapes: iamShapes, protocol: "query" },
  { service: "sts", shapes: stsShapes, protocol: "query" },
  { service: "secretsmanager", shapes: secretsmanagerShapes, protocol: "json", targetPrefix: "secretsmanager" },
  { service: "ssm", shapes: ssmShapes, protocol: "json", targetPrefix: "AmazonSSM" },
  { service: "organizations", shapes: organizationsShapes, protocol: "json", targetPrefix: "AWSOrganizationsV20161128" },
];

async function send(t: Target, operation: string, input: unknown): Promise<{ status: number; body: string }> {
  let res: Response;
  if (t.protocol === "json") {
    res = await signedFetch(s.url, t.service, JSON.stringify(input), { "content-type": "application/x-amz-json-1.1", "x-amz-target": `${t.targetPrefix}.${operation}` });
  } else {
    const params: [string, string][] = [
      ["Action", operation],
      ["Version", t.shapes.version],
    ];
    const inputShape = t.shapes.operations[operation].input;
    if (inputShape) queryParams(t.shapes, inputShape, input, "", params);
    res = await signedFetch(s.url, t.service, new URLSearchParams(params).toString(), { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
  }
  if (res.headers.get("content-type") === "application/vnd.amazon.eventstream") {
    // an event stream (StartLiveTail) does not end by itself: its first message, then close it
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, body: first.value?.length ? "" : "empty event stream" };
  }
  return { status: res.status, body: await res.text() };
}

function wellFormed(t: Target, status: number, body: string): boolean {
  if (t.protocol === "json") {
    if (status < 300) return body === "" || typeof JSON.parse(body) === "object";
    const err = JSON.parse(body) as { __type?: unknown };
    return typeof err.__type === "string" && err.__type !== "InternalFailure";
  }
  if (status < 300) return body.includes("<ResponseMetadata>");
  return body.includes("<ErrorResponse") && body.includes("<Code>") && !body.includes("<Code>ServiceFailure</Code>");
}

describe.each(targets)("$service: every operation with inputs generated from its shape", (t) => {
  it.each(Object.keys(t.shapes.operations))("%s never answers 5xx", async (operation) => {
    const inputShape = t.shapes.operations[operation].input;
    const input = inputShape ? arbitraryFor(t.shapes, inputShape) : fc.constant({});
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        const { status, body } = await send(t, operation, value);
        expect(status, body).toBeLessThan(500);
        expect(wellFormed(t, status, body), `${status} ${body.slice(0, 300)}`).toBe(true);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261129) },
    );
  });
});

describe("s3 (restXml): requests generated from methods, paths, sub-resources, headers and bodies", () => {
  const segment = fc.oneof(
    fc.constantFrom("fuzz-trail", "fuzz-empty", "no-such-bucket", "Bad_Bucket", "a", "x".repeat(64), "AWSLogs", "key%20with%20space", "%E2%9C%93", "%00"),
    // fetch removes "." and ".." segments before sending, which would change what was signed
    fc.stringMatching(/^[a-z0-9.-]{0,20}$/).filter((x) => x !== "." && x !== ".."),
  );
  // one value per parameter: the signer takes the query as a record
  const query = fc.uniqueArray(
    fc.tuple(
      fc.constantFrom(
        "list-type",
        "prefix",
        "delimiter",
        "start-after",
        "continuation-token",
        "max-keys",
        "encoding-type",
        "marker",
        "location",
        "acl",
        "uploads",
        "versionId",
        "fetch-owner",
        "tagging",
        "x-id",
        "versioning",
        "encryption",
        "publicAccessBlock",
        "ownershipControls",
        "logging",
        "lifecycle",
        "object-lock",
        "replication",
        "notification",
        "versions",
        "delete",
        "key-marker",
        "version-id-marker",
        "retention",
        "legal-hold",
      ),
      fc.oneof(fc.constantFrom("", "2", "1", "0", "-1", "1000", "99999999999", "url", "/", "AWSLogs/", "garbage==", "null", "A".repeat(32)), fc.string({ maxLength: 12 })),
    ),
    { maxLength: 4, selector: ([k]) => k },
  );
  const headers = fc.dictionary(
    fc.constantFrom(
      "x-amz-meta-a",
      "content-type",
      "content-md5",
      "range",
      "if-match",
      "if-none-match",
      "x-amz-acl",
      "x-amz-copy-source",
      "x-amz-tagging",
      "cache-control",
      "x-amz-grant-read",
      "x-amz-object-ownership",
      "x-amz-bucket-object-lock-enabled",
      "x-amz-object-lock-mode",
      "x-amz-object-lock-retain-until-date",
      "x-amz-object-lock-legal-hold",
      "x-amz-bypass-governance-retention",
    ),
    fc.oneof(
      fc.constantFrom(
        "",
        "bytes=0-1",
        "bytes=5-1",
        "text/plain",
        '"etag"',
        "*",
        "private",
        "public-read",
        "ObjectWriter",
        'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
        "/fuzz-trail/k",
        "AAAA",
        "a=1&a=2",
        "aws%3Ax=1",
        "%ZZ=%",
        "true",
        "GOVERNANCE",
        "COMPLIANCE",
        "ON",
        "2099-01-01T00:00:00Z",
        "1999-01-01T00:00:00Z",
      ),
      fc.stringMatching(/^[ -~]{0,16}$/),
    ),
    { maxKeys: 3 },
  );
  const body = fc.oneof(
    fc.constant(""),
    fc.constantFrom(
      "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
      "<CreateBucketConfiguration><LocationConstraint>moon-1</LocationConstraint></CreateBucketConfiguration>",
      "<CreateBucketConfiguration>",
      "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
      "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>",
      "<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration>",
      "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>",
      "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>",
      "<Delete><Object><Key>k</Key></Object><Object><Key>AWSLogs</Key><VersionId>null</VersionId></Object></Delete>",
      "<Delete><Quiet>maybe</Quiet><Object><Key></Key></Object></Delete>",
      "<Delete></Delete>",
      '<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>',
      "<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>x</ID></Grantee></Grant></AccessControlList></AccessControlPolicy>",
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::fuzz-trail/*"}]}',
      '<!DOCTYPE x [<!ENTITY e "boom">]><Tagging><TagSet><Tag><Key>&e;</Key></Tag></TagSet></Tagging>',
      "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>v</Value></Tag><Tag><Key>k</Key></Tag></TagSet></Tagging>",
      "<Tagging><TagSet/><TagSet/></Tagging>",
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
      "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>-1</Days><Years>99999999999</Years></DefaultRetention></Rule></ObjectLockConfiguration>",
      "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>",
      "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>not a date</RetainUntilDate></Retention>",
      "<LegalHold><Status>ON</Status></LegalHold>",
      "<LegalHold><Status>MAYBE</Status></LegalHold>",
      "not xml",
    ),
    fc.string({ maxLength: 64 }),
  );

  it("never answers 5xx (but S3's own 501 NotImplemented), and every error is S3's XML", async () => {
    const url = new URL(s.url);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "PUT", "HEAD", "DELETE", "POST"),
        fc.array(segment, { minLength: 0, maxLength: 3 }),
        query,
        headers,
        body,
        // unsigned requests run as the anonymous caller (bucket policies may grant it)
        fc.boolean(),
        async (method, segments, q, h, b, anonymous) => {
          const path = "/" + segments.join("/");
          const search = q.map(([k, v]) => (v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join("&");
          const sendBody = method === "PUT" || method === "POST" ? b : "";
          const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: s.config.credentials, sha256: Sha256, uriEscapePath: false });
          const signed = await signer.sign({
            method,
            protocol: "http:",
            hostname: url.hostname,
            port: Number(url.port),
            path,
            query: Object.fromEntries(new URLSearchParams(search)),
            headers: { host: url.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...h },
            body: sendBody || undefined,
          });
          const sent = anonymous ? { host: url.host, ...h } : (signed.headers as Record<string, string>);
          const res = await fetch(`${s.url}${path}${search ? `?${search}` : ""}`, { method, headers: sent, body: sendBody || undefined });
          const text = await res.text();
          // 501 NotImplemented is S3's own answer for features outside the minimal S3 (ACLs, copies, ...).
          const notImplemented = res.status === 501 && (method === "HEAD" || text.includes("<Code>NotImplemented</Code>"));
          if (!notImplemented) expect(res.status, `${method} ${path}?${search} → ${text.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400 && method !== "HEAD") expect(text, `${method} ${path}?${search}`).toMatch(/<Error><Code>[A-Za-z]+<\/Code>/);
        },
      ),
      { numRuns: RUNS * 10, seed: Number(process.env.FUZZ_SEED ?? 20261129) },
    );
  });
});

describe("s3control (restXml): the account's Block Public Access, with generated methods, paths, account ids, hosts and bodies", () => {
  it("never answers 5xx (but S3's own 501 NotImplemented), and every error is S3's XML", async () => {
    const url = new URL(s.url);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "PUT", "HEAD", "DELETE", "POST"),
        fc.constantFrom(
          "/v20180820/configuration/publicAccessBlock",
          "/v20180820/configuration/publicAccessBlock/",
          "/v20180820/",
          "/v20180820/accesspoint/x",
          "/v20180820/configuration",
        ),
        fc.option(fc.oneof(fc.constantFrom("000000000000", "111111111111", "", "0000000000000", "arn:aws:iam::000000000000:root"), fc.stringMatching(/^[ -~]{0,16}$/)), {
          nil: undefined,
        }),
        fc.constantFrom(url.host, `000000000000.localhost:${url.port}`, `s3-control.us-east-1.localhost:${url.port}`),
        fc.oneof(
          fc.constantFrom(
            "",
            '<PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>',
            "<PublicAccessBlockConfiguration><BlockPublicPolicy>maybe</BlockPublicPolicy></PublicAccessBlockConfiguration>",
            "<PublicAccessBlockConfiguration><RestrictPublicBuckets>false</RestrictPublicBuckets><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>",
            '<!DOCTYPE x [<!ENTITY e "true">]><PublicAccessBlockConfiguration><BlockPublicAcls>&e;</BlockPublicAcls></PublicAccessBlockConfiguration>',
            "<PublicAccessBlockConfiguration>",
            "not xml",
          ),
          fc.string({ maxLength: 64 }),
        ),
        fc.boolean(),
        async (method, path, accountId, host, b, anonymous) => {
          const sendBody = method === "PUT" || method === "POST" ? b : "";
          const headers: Record<string, string> = { host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", ...(accountId !== undefined ? { "x-amz-account-id": accountId } : {}) };
          const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: s.config.credentials, sha256: Sha256, uriEscapePath: false });
          const signed = await signer.sign({ method, protocol: "http:", hostname: host.replace(/:\d+$/, ""), port: Number(url.port), path, headers, body: sendBody || undefined });
          const sent = anonymous ? headers : (signed.headers as Record<string, string>);
          const { status, text } = await rawRequest(url, method, path, sent, sendBody);
          const notImplemented = status === 501 && (method === "HEAD" || text.includes("<Code>NotImplemented</Code>"));
          if (!notImplemented) expect(status, `${method} ${path} ${host} ${accountId} → ${text.slice(0, 300)}`).toBeLessThan(500);
          if (status >= 400 && method !== "HEAD") expect(text, `${method} ${path}`).toMatch(/<Error><Code>[A-Za-z]+<\/Code>/);
        },
      ),
      { numRuns: RUNS * 5, seed: Number(process.env.FUZZ_SEED ?? 20261129) },
    );
  });
});

/** One request with the Host given (fetch sets its own), over node:http. */
function rawRequest(url: URL, method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: Number(url.port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body || undefined);
  });
}
