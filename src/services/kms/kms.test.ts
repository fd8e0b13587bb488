/** Unit tests for KMS's pure parts: key-state table, KeyId resolution, paging, grants, dates. */
import { describe, it, expect } from "vitest";
import { ServiceError } from "../../kernel/errors.ts";
import type { Principal } from "../../kernel/principal.ts";
import { javaDate } from "./core.ts";
import { grantOperationsFor, newGrantToken, parseGrantToken } from "./grants.ts";
import { pageOf } from "./paging.ts";
import { constraintsSatisfied, defaultKeyPolicy, principalNames } from "./key-policy.ts";
import { resolveKey } from "./resolve.ts";
import { checkKeyState, KmsState, type GrantRecord, type KeyRecord, type StateRule } from "./state.ts";

const ACCT = "111122223333";
const ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const ARN = `arn:aws:kms:us-east-1:${ACCT}:key/${ID}`;

function key(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: ID,
    arn: ARN,
    accountId: ACCT,
    region: "us-east-1",
    creationDate: new Date(0),
    description: "",
    keyUsage: "ENCRYPT_DECRYPT",
    keySpec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    state: "Enabled",
    multiRegion: false,
    policy: "{}",
    tags: [],
    materials: [],
    rotationEnabled: false,
    onDemandRotations: 0,
    ...over,
  };
}

function codeOf(f: () => void): string {
  try {
    f();
    return "OK";
  } catch (e) {
    return e instanceof ServiceError ? `${e.code}: ${e.message}` : String(e);
  }
}

describe("key-state table (docs/kms.md#key-states)", () => {
  const states = ["Enabled", "Disabled", "PendingDeletion", "PendingImport"] as const;
  const table: Record<StateRule, string[]> = {
    use: ["OK", `DisabledException: ${ARN} is disabled.`, `KMSInvalidStateException: ${ARN} is pending deletion.`, `KMSInvalidStateException: ${ARN} is pending import.`],
    any: ["OK", "OK", "OK", "OK"],
    notPendingDeletion: ["OK", "OK", `KMSInvalidStateException: ${ARN} is pending deletion.`, "OK"],
    enableDisable: ["OK", "OK", `KMSInvalidStateException: ${ARN} is pending deletion.`, `KMSInvalidStateException: ${ARN} is pending import.`],
    cancelDeletion: [
      `KMSInvalidStateException: ${ARN} is not pending deletion.`,
      `KMSInvalidStateException: ${ARN} is not pending deletion.`,
      "OK",
      `KMSInvalidStateException: ${ARN} is not pending deletion.`,
    ],
    rotation: ["OK", `DisabledException: ${ARN} is disabled.`, `KMSInvalidStateException: ${ARN} is pending deletion.`, "OK"],
    rotateOnDemand: [
      "OK",
      `DisabledException: ${ARN} is disabled.`,
      `KMSInvalidStateException: ${ARN} is pending deletion.`,
      `KMSInvalidStateException: ${ARN} is pending import.`,
    ],
    rotationStatus: ["OK", "OK", "OK", "OK"],
    import: [`UnsupportedOperationException: ${ARN} origin is AWS_KMS which is not valid for this operation.`, "", "", ""],
    deleteImported: [`UnsupportedOperationException: ${ARN} origin is AWS_KMS which is not valid for this operation.`, "", "", ""],
  };
  for (const [rule, expected] of Object.entries(table) as [StateRule, string[]][]) {
    it(`${rule}`, () => {
      states.forEach((state, i) => {
        if (expected[i] === "") return;
        expect(
          codeOf(() => checkKeyState(key({ state }), rule)),
          `${rule} in ${state}`,
        ).toBe(expected[i]);
      });
    });
  }

  it("EXTERNAL keys: rotation is unsupported, import follows the state", () => {
    const ext = (state: KeyRecord["state"]) => key({ origin: "EXTERNAL", state });
    expect(codeOf(() => checkKeyState(ext("PendingImport"), "rotation"))).toBe(`UnsupportedOperationException: ${ARN} origin is EXTERNAL which is not valid for this operation.`);
    expect(codeOf(() => checkKeyState(ext("Enabled"), "rotationStatus"))).toMatch(/origin is EXTERNAL/);
    expect(codeOf(() => checkKeyState(ext("PendingImport"), "import"))).toBe("OK");
    expect(codeOf(() => checkKeyState(ext("Enabled"), "import"))).toBe("OK");
    expect(codeOf(() => checkKeyState(ext("PendingDeletion"), "import"))).toBe(`KMSInvalidStateException: ${ARN} is pending deletion.`);
    expect(codeOf(() => checkKeyState(ext("PendingDeletion"), "deleteImported"))).toBe("OK");
    expect(codeOf(() => checkKeyState(key({ keySpec: "RSA_2048" }), "rotation"))).toBe("UnsupportedOperationException: ");
  });
});

describe("resolveKey", () => {
  const st = new KmsState();
  st.keys.set(ARN, key());
  st.aliases.set(`arn:aws:kms:us-east-1:${ACCT}:alias/app`, {
    aliasName: "alias/app",
    aliasArn: `arn:aws:kms:us-east-1:${ACCT}:alias/app`,
    accountId: ACCT,
    region: "us-east-1",
    targetKeyArn: ARN,
    creationDate: new Date(0),
    lastUpdatedDate: new Date(0),
  });
  const scope = { accountId: ACCT, region: "us-east-1" };
  const r = (v: string, aliases = true) => codeOf(() => resolveKey(st, scope, v, { aliases }));

  it("accepts key id, key ARN, alias name and alias ARN", () => {
    for (const v of [ID, ARN, "alias/app", `arn:aws:kms:us-east-1:${ACCT}:alias/app`]) expect(resolveKey(st, scope, v, { aliases: true }).key.arn).toBe(ARN);
    expect(resolveKey(st, scope, "alias/app", { aliases: true }).alias).toBe("alias/app");
  });

  it("answers with AWS's NotFoundException texts", () => {
    expect(r("alias/app", false)).toBe("NotFoundException: Invalid keyId 'alias/app'");
    expect(r("garbage")).toBe("NotFoundException: Invalid keyId 'garbage'");
    expect(r("arn:aws:kms:us-east-1:1:key/x")).toBe("NotFoundException: Invalid keyId 'arn:aws:kms:us-east-1:1:key/x'");
    expect(r(ARN.replace("us-east-1", "eu-west-1"))).toBe("NotFoundException: Invalid arn eu-west-1");
    const other = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    expect(r(other)).toBe(`NotFoundException: Key 'arn:aws:kms:us-east-1:${ACCT}:key/${other}' does not exist`);
    expect(r("alias/none")).toBe(`NotFoundException: Alias arn:aws:kms:us-east-1:${ACCT}:alias/none is not found.`);
    expect(r(`mrk-${"a".repeat(32)}`)).toBe(`NotFoundException: Key 'arn:aws:kms:us-east-1:${ACCT}:key/mrk-${"a".repeat(32)}' does not exist`);
  });
});

describe("paging", () => {
  const items = ["a", "b", "c", "d", "e"];
  it("pages by the last item's key and survives removals", () => {
    const p1 = pageOf(items, (x) => x, 2, undefined, 100);
    expect(p1.items).toEqual(["a", "b"]);
    expect(p1.Truncated).toBe(true);
    const p2 = pageOf(["a", "c", "d", "e"], (x) => x, 2, p1.NextMarker, 100);
    expect(p2.items).toEqual(["c", "d"]);
    const p3 = pageOf(items, (x) => x, 2, p2.NextMarker, 100);
    expect(p3).toEqual({ items: ["e"], Truncated: false, NextMarker: undefined });
  });
  it("refuses markers it did not issue", () => {
    expect(codeOf(() => pageOf(items, (x) => x, 2, "bogus", 100))).toMatch(/^InvalidMarkerException/);
  });
});

describe("grants", () => {
  const g = (c: GrantRecord["constraints"]): GrantRecord => ({
    grantId: "0".repeat(64),
    keyArn: ARN,
    issuingAccount: ACCT,
    creationDate: new Date(0),
    granteePrincipal: "x",
    operations: ["Decrypt"],
    constraints: c,
  });
  it("checks EncryptionContextSubset and EncryptionContextEquals exactly and case-sensitively", () => {
    expect(constraintsSatisfied(g(undefined), undefined)).toBe(true);
    expect(constraintsSatisfied(g({ EncryptionContextSubset: { a: "1" } }), { a: "1", b: "2" })).toBe(true);
    expect(constraintsSatisfied(g({ EncryptionContextSubset: { a: "1" } }), { a: "2" })).toBe(false);
    expect(constraintsSatisfied(g({ EncryptionContextSubset: { a: "1" } }), { A: "1" })).toBe(false);
    expect(constraintsSatisfied(g({ EncryptionContextSubset: { a: "1" } }), undefined)).toBe(false);
    expect(constraintsSatisfied(g({ EncryptionContextEquals: { a: "1" } }), { a: "1" })).toBe(true);
    expect(constraintsSatisfied(g({ EncryptionContextEquals: { a: "1" } }), { a: "1", b: "2" })).toBe(false);
    expect(constraintsSatisfied(g({ EncryptionContextEquals: {} }), {})).toBe(true);
  });

  it("tokens name their grant; foreign tokens are refused", () => {
    const id = "ab".repeat(32);
    const t1 = newGrantToken(id);
    const t2 = newGrantToken(id);
    expect(t1).not.toBe(t2);
    expect(parseGrantToken(t1)).toBe(id);
    expect(parseGrantToken(t2)).toBe(id);
    expect(codeOf(() => parseGrantToken("AQID"))).toMatch(/^InvalidGrantTokenException/);
    expect(codeOf(() => parseGrantToken("not base64!"))).toMatch(/^InvalidGrantTokenException/);
  });

  it("knows which grant operations each key type supports", () => {
    expect([...grantOperationsFor(key())]).toEqual(
      expect.arrayContaining(["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "CreateGrant", "RetireGrant", "DescribeKey"]),
    );
    expect(grantOperationsFor(key()).has("Sign")).toBe(false);
    expect(grantOperationsFor(key({ keySpec: "RSA_2048" })).has("GetPublicKey")).toBe(true);
    expect(grantOperationsFor(key({ keySpec: "RSA_2048" })).has("GenerateDataKey")).toBe(false);
    expect([...grantOperationsFor(key({ keySpec: "HMAC_256", keyUsage: "GENERATE_VERIFY_MAC" }))].sort()).toEqual([
      "CreateGrant",
      "DescribeKey",
      "GenerateMac",
      "RetireGrant",
      "VerifyMac",
    ]);
  });

  it("matches grantees by principal ARN, role ARN for sessions, account id for root, name for services", () => {
    const root: Principal = { type: "Root", accountId: ACCT, arn: `arn:aws:iam::${ACCT}:root`, principalId: ACCT };
    expect(principalNames(root)).toEqual([`arn:aws:iam::${ACCT}:root`, ACCT]);
    const session: Principal = {
      type: "AssumedRole",
      accountId: ACCT,
      arn: `arn:aws:sts::${ACCT}:assumed-role/R/s`,
      principalId: "AROA:s",
      session: { roleArn: `arn:aws:iam::${ACCT}:role/R`, issuerArn: "", issuerType: "Role", createdAt: new Date(0), expiresAt: new Date(0), mfaAuthenticated: false },
    };
    expect(principalNames(session)).toEqual([`arn:aws:sts::${ACCT}:assumed-role/R/s`, `arn:aws:iam::${ACCT}:role/R`]);
    const svc: Principal = { type: "AWSService", accountId: ACCT, arn: "fargate.us-west-2.amazonaws.com", principalId: "fargate.us-west-2.amazonaws.com" };
    expect(principalNames(svc)).toEqual(["fargate.us-west-2.amazonaws.com"]);
  });
});

describe("formats", () => {
  it("writes KMS's Java-style CloudTrail dates in UTC", () => {
    expect(javaDate(new Date("2022-08-10T22:38:27Z"))).toBe("Aug 10, 2022, 10:38:27 PM");
    expect(javaDate(new Date("2021-04-02T00:05:09Z"))).toBe("Apr 2, 2021, 12:05:09 AM");
    expect(javaDate(new Date("2021-11-02T12:00:00Z"))).toBe("Nov 2, 2021, 12:00:00 PM");
  });

  it("uses AWS's default key policy text", () => {
    const p = defaultKeyPolicy(ACCT);
    expect(JSON.parse(p)).toEqual({
      Version: "2012-10-17",
      Id: "key-default-1",
      Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "kms:*", Resource: "*" }],
    });
    expect(p).toContain('"Statement" : [ {');
  });
});
