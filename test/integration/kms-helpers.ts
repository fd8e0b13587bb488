/** Shared helpers for the KMS integration tests. */
import { expect } from "vitest";
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  type AlgorithmSpec,
  type CreateKeyCommandInput,
  type ImportKeyMaterialCommandInput,
  type ImportKeyMaterialCommandOutput,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import type { TestServer } from "../support/server.ts";
import type { CredentialRecord, Principal } from "../../src/kernel/principal.ts";
import type { LooseJson } from "../support/json.ts";

export const ACCOUNT = "000000000000";
export const REGION = "us-east-1";

export type AwsError = Error & { $metadata?: { httpStatusCode?: number }; $response?: unknown };

/** Awaits a call that must fail with the given AWS error code, HTTP 400 (KMS's wire status) and message. */
export async function expectKmsError(p: Promise<unknown>, code: string, message?: string | RegExp, status = 400): Promise<AwsError> {
  let err: AwsError | undefined;
  try {
    await p;
  } catch (e) {
    err = e as AwsError;
  }
  expect(err, `expected ${code}`).toBeDefined();
  expect(err!.name, err!.message).toBe(code);
  expect(err!.$metadata?.httpStatusCode).toBe(status);
  // the JS SDK renders an empty wire message (InvalidCiphertextException) as "UnknownError"
  if (message === "") expect(["", "UnknownError"]).toContain(err!.message);
  else if (typeof message === "string") expect(err!.message).toBe(message);
  else if (message) expect(err!.message).toMatch(message);
  return err!;
}

export const doc = (statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** The default key policy statement: the account may use IAM policies for this key. */
export const rootStatement = (account = ACCOUNT) => ({
  Sid: "Enable IAM User Permissions",
  Effect: "Allow",
  Principal: { AWS: `arn:aws:iam::${account}:root` },
  Action: "kms:*",
  Resource: "*",
});

export async function createKey(kms: KMSClient, input: CreateKeyCommandInput = {}): Promise<KeyMetadata> {
  return (await kms.send(new CreateKeyCommand(input))).KeyMetadata!;
}

/** Every CloudTrail record (parsed) with this event name, newest first. */
export async function trailRecords(s: TestServer, eventName: string, region = REGION): Promise<LooseJson[]> {
  const ct = new CloudTrailClient({ ...s.config, region });
  const out: LooseJson[] = [];
  let NextToken: string | undefined;
  do {
    const r = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }], NextToken }));
    for (const e of r.Events ?? []) out.push(JSON.parse(e.CloudTrailEvent!));
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

export const utf8 = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined) => Buffer.from(b ?? new Uint8Array()).toString("utf8");

export interface TestPrincipal {
  arn: string;
  config: TestServer["config"];
  /** replaces the principal's identity (IAM) policies */
  setPolicies(docs: string[]): void;
}

let principalSeq = 0;

/**
 * An IAM user or an assumed-role session with access keys and identity policies, registered
 * straight into the test server (as the IAM and STS services would register them), so KMS
 * authorization can be tested on its own.
 */
export function addPrincipal(s: TestServer, kind: "user" | "role", name: string, policies: string[] = [], account = ACCOUNT): TestPrincipal {
  const seq = String(++principalSeq).padStart(4, "0");
  const accessKeyId = `${kind === "user" ? "AKIA" : "ASIA"}KMSTEST${name
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "")
    .slice(0, 6)}${seq}`;
  const secretAccessKey = `secret-${name}-${seq}`;
  const roleArn = `arn:aws:iam::${account}:role/${name}`;
  const principal: Principal =
    kind === "user"
      ? { type: "IAMUser", accountId: account, arn: `arn:aws:iam::${account}:user/${name}`, principalId: `AIDA${seq}${name.toUpperCase()}`, userName: name, accessKeyId }
      : {
          type: "AssumedRole",
          accountId: account,
          arn: `arn:aws:sts::${account}:assumed-role/${name}/session-${seq}`,
          principalId: `AROA${seq}:session-${seq}`,
          accessKeyId,
          session: {
            roleArn,
            roleId: `AROA${seq}`,
            roleName: name,
            sessionName: `session-${seq}`,
            issuerArn: roleArn,
            issuerType: "Role",
            createdAt: new Date(Date.parse("2026-01-01T00:00:00Z")),
            expiresAt: new Date(Date.parse("2099-01-01T00:00:00Z")),
            mfaAuthenticated: false,
          },
        };
  const sessionToken = kind === "role" ? `token-${seq}` : undefined;
  const record: CredentialRecord = { secretAccessKey, principal, sessionToken, active: true };
  s.app.credentialProviders.unshift({ lookup: (id) => (id === accessKeyId ? record : undefined) });
  let docs = policies;
  const prev = s.app.identityPolicies;
  s.app.identityPolicies = {
    policiesFor: (p) => (p.arn === principal.arn ? { identity: docs } : prev ? prev.policiesFor(p) : { identity: [] }),
  };
  return {
    arn: principal.arn,
    config: s.configFor({ accessKeyId, secretAccessKey, sessionToken }),
    setPolicies(d) {
      docs = d;
    },
  };
}

/**
 * What the AWS docs ("Encrypt the key material") have users run:
 *   RSAES_OAEP_SHA_*:     openssl pkeyutl -encrypt -in material -inkey PublicKey.bin -keyform DER -pubin
 *                           -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
 *   RSA_AES_KEY_WRAP_*:   openssl rand -out aes-key.bin 32
 *                         openssl enc -id-aes256-wrap-pad -K $(xxd -p < aes-key.bin | tr -d '\n') -iv A65959A6
 *                           -in material -out material-wrapped.bin
 *                         openssl pkeyutl -encrypt -in aes-key.bin -out aes-key-wrapped.bin … (OAEP as above)
 *                         cat aes-key-wrapped.bin material-wrapped.bin > EncryptedKeyMaterial.bin
 */
export function wrap(publicKeyDer: Uint8Array, algorithm: string, material: Buffer): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  const oaepHash = algorithm.endsWith("SHA_1") ? "sha1" : "sha256";
  const rsa = (data: Buffer) => publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, data);
  if (algorithm.startsWith("RSAES_OAEP")) return rsa(material);
  const aesKey = randomBytes(32);
  const c = createCipheriv("id-aes256-wrap-pad", aesKey, Buffer.from("A65959A6", "hex"));
  const wrapped = Buffer.concat([c.update(material), c.final()]);
  return Buffer.concat([rsa(aesKey), wrapped]);
}

/**
 * GetParametersForImport (RSA_2048 wrapping key) then ImportKeyMaterial of `material`, wrapped with
 * `algorithm` as `wrap` does; `input` holds ImportKeyMaterial's other members (ExpirationModel…).
 */
export async function importMaterial(
  kms: KMSClient,
  key: KeyMetadata,
  material: Buffer,
  algorithm: AlgorithmSpec,
  input: Partial<ImportKeyMaterialCommandInput>,
): Promise<ImportKeyMaterialCommandOutput> {
  const p = await kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: algorithm, WrappingKeySpec: "RSA_2048" }));
  return kms.send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(p.PublicKey!, algorithm, material), ...input }));
}

export { allow, deny } from "./iam-helpers.ts";
