import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { parseCertificateBody, parseSshPublicKey, sshKeyIn } from "./credential-material.ts";

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe("PEM parsing", () => {
  it("refuses text around or between blocks, unclosed blocks and non-base64 bodies", () => {
    for (const body of [
      "",
      "hello",
      "-----BEGIN CERTIFICATE-----\nAAAA",
      "x-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
      "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----",
    ]) {
      expect(
        codeOf(() => parseCertificateBody(body)),
        JSON.stringify(body),
      ).toBe("MalformedCertificate");
    }
  });

  it("reads megabytes of unclosed BEGIN markers in one pass", () => {
    expect(codeOf(() => parseCertificateBody("-----BEGIN A-----\n".repeat(120_000)))).toBe("MalformedCertificate");
    expect(codeOf(() => parseCertificateBody("-----BEGIN A-----\nAAAA\n-----END A-----\n".repeat(50_000)))).toBe("MalformedCertificate");
  });
});

describe("SSH public keys", () => {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();

  it("turns a PEM RSA key into ssh-rsa form and back", () => {
    const k = parseSshPublicKey(pem);
    expect(k.body).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E/);
    expect(k.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(parseSshPublicKey(`${k.body} comment here`).fingerprint).toBe(k.fingerprint);
    expect(sshKeyIn(k.body, "PEM")).toBe(pem);
  });

  it("refuses other key types, trailing data and short keys", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(codeOf(() => parseSshPublicKey(ec))).toBe("UnrecognizedPublicKeyEncoding");
    const blob = Buffer.from(parseSshPublicKey(pem).body.split(" ")[1], "base64");
    expect(codeOf(() => parseSshPublicKey(`ssh-rsa ${Buffer.concat([blob, Buffer.alloc(1)]).toString("base64")}`))).toBe("InvalidPublicKey");
    expect(codeOf(() => parseSshPublicKey(`ssh-rsa ${blob.subarray(0, 30).toString("base64")}`))).toBe("InvalidPublicKey");
    const short = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(codeOf(() => parseSshPublicKey(short))).toBe("InvalidPublicKey");
  });
});
