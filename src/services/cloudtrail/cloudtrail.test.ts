import { describe, it, expect } from "vitest";
import { createHash, createPublicKey, verify } from "node:crypto";
import { mkdtempSync, rmSync, statSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../store/store.ts";
import { digestSigningString, SigningKeys, signDigest, KEY_VALIDITY_MS } from "./keys.ts";
import { normalizeAdvancedEventSelectors, normalizeEventSelectors, selects, type SelectableEvent } from "./selectors.ts";
import { digestFileKey, logFileKey, minuteStamp, secondStamp } from "./delivery.ts";
import { validateTrailName } from "./trails.ts";
import type { TrailState } from "./trails.ts";

const ev = (over: Partial<SelectableEvent>): SelectableEvent => ({
  management: true,
  readOnly: false,
  eventSource: "kms.amazonaws.com",
  eventName: "CreateKey",
  eventType: "AwsApiCall",
  resources: [],
  ...over,
});

describe("event selectors", () => {
  it("take every management event by default", () => {
    expect(selects({}, ev({}))).toBe(true);
    expect(selects({}, ev({ readOnly: true }))).toBe(true);
    expect(selects({}, ev({ management: false, resources: [{ type: "AWS::S3::Object", arn: "arn:aws:s3:::b/k" }] }))).toBe(false);
  });

  it("exclude KMS events, and honour ReadWriteType", () => {
    const t = { eventSelectors: normalizeEventSelectors([{ ReadWriteType: "WriteOnly", ExcludeManagementEventSources: ["kms.amazonaws.com"] }]) };
    expect(t.eventSelectors[0]).toEqual({ ReadWriteType: "WriteOnly", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: ["kms.amazonaws.com"] });
    expect(selects(t, ev({}))).toBe(false);
    expect(selects(t, ev({ eventSource: "iam.amazonaws.com" }))).toBe(true);
    expect(selects(t, ev({ eventSource: "iam.amazonaws.com", readOnly: true }))).toBe(false);
    expect(() => normalizeEventSelectors([{ ExcludeManagementEventSources: ["s3.amazonaws.com"] }])).toThrow(/ExcludeManagementEventSources/);
  });

  it("select S3 data events by object ARN prefix", () => {
    const t = { eventSelectors: normalizeEventSelectors([{ IncludeManagementEvents: false, DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::logs/"] }] }]) };
    const obj = (arn: string) =>
      ev({
        management: false,
        resources: [
          { type: "AWS::S3::Object", arn },
          { type: "AWS::S3::Bucket", arn: "arn:aws:s3:::logs" },
        ],
      });
    expect(selects(t, obj("arn:aws:s3:::logs/a"))).toBe(true);
    expect(selects(t, obj("arn:aws:s3:::other/a"))).toBe(false);
    expect(selects(t, ev({}))).toBe(false);
  });

  it("advanced selectors combine field selectors", () => {
    const t = {
      advancedEventSelectors: normalizeAdvancedEventSelectors([
        {
          Name: "mgmt no kms",
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "eventSource", NotEquals: ["kms.amazonaws.com"] },
          ],
        },
      ]),
    };
    expect(selects(t, ev({}))).toBe(false);
    expect(selects(t, ev({ eventSource: "ecs.amazonaws.com" }))).toBe(true);
    expect(() => normalizeAdvancedEventSelectors([{ FieldSelectors: [{ Field: "eventSource", Equals: ["x"] }] }])).toThrow(/eventCategory/);
  });
});

describe("trail names", () => {
  it("follow CloudTrail's rules", () => {
    expect(() => validateTrailName("ab")).toThrow(/too short/);
    expect(() => validateTrailName("-abc")).toThrow(/starts with a letter or number/);
    expect(() => validateTrailName("abc-")).toThrow(/ends with a letter or number/);
    expect(() => validateTrailName("a b c")).toThrow(/can only contain/);
    expect(() => validateTrailName("my--trail")).toThrow(/adjacent/);
    expect(() => validateTrailName("192.168.5.4")).toThrow(/IP address/);
    expect(() => validateTrailName("my-trail.v2_x")).not.toThrow();
  });
});

describe("object keys", () => {
  const t = { accountId: "111122223333", name: "main", homeRegion: "us-east-1", s3KeyPrefix: "audit" } as TrailState;
  const at = new Date("2026-03-04T05:06:07Z");
  it("log files follow CloudTrail's layout", () => {
    expect(minuteStamp(at)).toBe("20260304T0506Z");
    expect(logFileKey(t, "us-east-1", at)).toMatch(
      /^audit\/AWSLogs\/111122223333\/CloudTrail\/us-east-1\/2026\/03\/04\/111122223333_CloudTrail_us-east-1_20260304T0506Z_[A-Za-z0-9]{16}\.json\.gz$/,
    );
  });
  it("digest files end with the 16-character timestamp the CLI parses", () => {
    expect(secondStamp(at)).toBe("20260304T050607Z");
    const k = digestFileKey(t, "eu-west-1", at);
    expect(k).toBe("audit/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/03/04/111122223333_CloudTrail-Digest_eu-west-1_main_us-east-1_20260304T050607Z.json.gz");
    expect(k.slice(-24, -8)).toBe("20260304T050607Z");
  });
});

describe("signing keys", () => {
  it("sign digests verifiably with the DER PKCS#1 public key, keep private keys 0600, and rotate after 30 days", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-keys-"));
    try {
      const store = new Store(dir);
      const keys = new SigningKeys(store, dir);
      const t0 = Date.parse("2026-01-01T00:00:00Z");
      const a = keys.current("us-east-1", t0);
      store.commitNow(a.writes);
      expect(a.key.fingerprint).toMatch(/^[0-9a-f]{32}$/);
      expect(a.key.fingerprint).toBe(createHash("md5").update(a.key.publicDer).digest("hex"));
      const digest = { digestEndTime: "2026-01-01T01:00:00Z", digestS3Bucket: "b", digestS3Object: "k.json.gz", previousDigestSignature: null };
      const body = Buffer.from('{"x":1}');
      const s = digestSigningString(digest, body);
      expect(s).toBe(`2026-01-01T01:00:00Z\nb/k.json.gz\n${createHash("sha256").update(body).digest("hex")}\nnull`);
      const sig = signDigest(s, a.privateKey);
      const pub = createPublicKey({ key: a.key.publicDer, format: "der", type: "pkcs1" });
      expect(verify("sha256", Buffer.from(s), pub, Buffer.from(sig, "hex"))).toBe(true);
      expect(verify("sha256", Buffer.from(s + "x"), pub, Buffer.from(sig, "hex"))).toBe(false);
      const files = readdirSync(join(dir, "cloudtrail-keys"));
      expect(files.length).toBe(1);
      expect(statSync(join(dir, "cloudtrail-keys", files[0])).mode & 0o777).toBe(0o600);
      expect(keys.current("us-east-1", t0 + 1000).key.fingerprint).toBe(a.key.fingerprint);
      const b = keys.current("us-east-1", t0 + KEY_VALIDITY_MS + 1);
      expect(b.key.fingerprint).not.toBe(a.key.fingerprint);
      store.commitNow(b.writes);
      expect(keys.inRange("us-east-1", t0, t0 + KEY_VALIDITY_MS + 10).length).toBe(2);
      expect(keys.inRange("eu-west-1", t0, t0 + 10).length).toBe(0);
      // After a restart the same key signs again.
      store.close();
      const store2 = new Store(dir);
      const again = new SigningKeys(store2, dir).current("us-east-1", t0 + 5000);
      expect(again.key.fingerprint).toBe(a.key.fingerprint);
      expect(again.writes.length).toBe(0);
      store2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
