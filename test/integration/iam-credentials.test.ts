/**
 * IAM server certificates, signing certificates and SSH public keys through @aws-sdk/client-iam,
 * with certificates and keys made by openssl and ssh-keygen; what they change in
 * GetAccountSummary, the credential report and DeleteUser; and the private key of a server
 * certificate never leaving the server nor resting in clear in the data dir.
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IAMClient,
  CreateUserCommand,
  DeleteServerCertificateCommand,
  DeleteSigningCertificateCommand,
  DeleteSSHPublicKeyCommand,
  DeleteUserCommand,
  GenerateCredentialReportCommand,
  GetAccountSummaryCommand,
  GetCredentialReportCommand,
  GetServerCertificateCommand,
  GetSSHPublicKeyCommand,
  ListServerCertificatesCommand,
  ListServerCertificateTagsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  TagServerCertificateCommand,
  UntagServerCertificateCommand,
  UpdateServerCertificateCommand,
  UpdateSigningCertificateCommand,
  UpdateSSHPublicKeyCommand,
  UploadServerCertificateCommand,
  UploadSigningCertificateCommand,
  UploadSSHPublicKeyCommand,
} from "@aws-sdk/client-iam";
import { createHash, createPublicKey, randomBytes, X509Certificate } from "node:crypto";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { lookupAll } from "./cloudtrail-helpers.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { certificateChain, selfSigned, sshKey } from "../support/credential-files.ts";
import { ACCOUNT, allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let iam: IAMClient;
beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

/** Every file under a directory, read as latin1 (binary-safe substring search). */
function dataDirText(dir: string): string {
  let out = "";
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? dataDirText(p) : readFileSync(p, "latin1");
  }
  return out;
}

/** The base64 body of a PEM block, on one line (how it would appear in any stored form). */
const pemBase64 = (pem: string) => pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");

describe("server certificates", () => {
  const rsa = selfSigned("www.example.com", { rsaBits: 2048 });

  it("uploads, reads, lists, tags, renames and deletes a certificate; the private key is never returned", async () => {
    const up = await iam.send(
      new UploadServerCertificateCommand({
        ServerCertificateName: "web",
        Path: "/cloudfront/",
        CertificateBody: rsa.cert,
        PrivateKey: rsa.key,
        Tags: [{ Key: "team", Value: "edge" }],
      }),
    );
    const meta = up.ServerCertificateMetadata!;
    expect(meta.ServerCertificateId).toMatch(/^ASCA[A-Z2-7]{17}$/);
    expect(meta.Arn).toBe(`arn:aws:iam::${ACCOUNT}:server-certificate/cloudfront/web`);
    expect(meta.Path).toBe("/cloudfront/");
    expect(meta.Expiration!.getTime()).toBe(new Date(new X509Certificate(rsa.cert).validTo).getTime());
    expect(up.Tags).toEqual([{ Key: "team", Value: "edge" }]);

    const got = await iam.send(new GetServerCertificateCommand({ ServerCertificateName: "WEB" }));
    expect(got.ServerCertificate!.CertificateBody).toBe(rsa.cert);
    expect(got.ServerCertificate!.CertificateChain).toBeUndefined();
    expect(got.ServerCertificate!.ServerCertificateMetadata).toEqual(meta);
    const secret = pemBase64(rsa.key).slice(0, 40);
    expect(JSON.stringify(got)).not.toContain(secret);
    expect(JSON.stringify(up)).not.toContain(secret);
    const uploads = await lookupAll(new CloudTrailClient(s.config), "EventName", "UploadServerCertificate");
    expect(uploads.length).toBe(1);
    expect(uploads[0].CloudTrailEvent).not.toContain(secret);

    expect((await iam.send(new ListServerCertificatesCommand({ PathPrefix: "/cloudfront/" }))).ServerCertificateMetadataList).toEqual([meta]);
    expect((await iam.send(new ListServerCertificatesCommand({ PathPrefix: "/elb/" }))).ServerCertificateMetadataList).toEqual([]);

    await iam.send(new TagServerCertificateCommand({ ServerCertificateName: "web", Tags: [{ Key: "env", Value: "prod" }] }));
    await iam.send(new UntagServerCertificateCommand({ ServerCertificateName: "web", TagKeys: ["team"] }));
    expect((await iam.send(new ListServerCertificateTagsCommand({ ServerCertificateName: "web" }))).Tags).toEqual([{ Key: "env", Value: "prod" }]);

    await iam.send(new UpdateServerCertificateCommand({ ServerCertificateName: "web", NewServerCertificateName: "web-2025", NewPath: "/elb/" }));
    await expectAwsError(
      iam.send(new GetServerCertificateCommand({ ServerCertificateName: "web" })),
      "NoSuchEntityException",
      404,
      "The Server Certificate with name web cannot be found.",
    );
    const moved = (await iam.send(new GetServerCertificateCommand({ ServerCertificateName: "web-2025" }))).ServerCertificate!.ServerCertificateMetadata!;
    expect(moved).toMatchObject({ ServerCertificateId: meta.ServerCertificateId, Path: "/elb/", Arn: `arn:aws:iam::${ACCOUNT}:server-certificate/elb/web-2025` });

    expect((await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!.ServerCertificates).toBe(1);
    await iam.send(new DeleteServerCertificateCommand({ ServerCertificateName: "web-2025" }));
    await expectAwsError(iam.send(new DeleteServerCertificateCommand({ ServerCertificateName: "web-2025" })), "NoSuchEntityException", 404);
    expect((await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!.ServerCertificates).toBe(0);
  });

  it("takes a chain that starts with the issuer and refuses one out of order", async () => {
    const c = certificateChain("api.example.com");
    const ok = await iam.send(
      new UploadServerCertificateCommand({ ServerCertificateName: "chained", CertificateBody: c.leaf.cert, PrivateKey: c.leaf.key, CertificateChain: c.intermediate + c.root }),
    );
    expect(ok.ServerCertificateMetadata!.ServerCertificateName).toBe("chained");
    expect((await iam.send(new GetServerCertificateCommand({ ServerCertificateName: "chained" }))).ServerCertificate!.CertificateChain).toBe(c.intermediate + c.root);
    await expectAwsError(
      iam.send(
        new UploadServerCertificateCommand({ ServerCertificateName: "bad-chain", CertificateBody: c.leaf.cert, PrivateKey: c.leaf.key, CertificateChain: c.root + c.intermediate }),
      ),
      "MalformedCertificateException",
      400,
      /The index within the chain of the invalid certificate is: 0$/,
    );
    await expectAwsError(
      iam.send(
        new UploadServerCertificateCommand({
          ServerCertificateName: "bad-chain",
          CertificateBody: c.leaf.cert,
          PrivateKey: c.leaf.key,
          CertificateChain: c.intermediate + rsa.cert,
        }),
      ),
      "MalformedCertificateException",
      400,
      /is: 1$/,
    );
    await iam.send(new DeleteServerCertificateCommand({ ServerCertificateName: "chained" }));
  });

  it("refuses bad certificates, keys that do not match, duplicate names and more than 20", async () => {
    const other = selfSigned("other.example.com");
    const upload = (name: string, body: string, key: string) =>
      iam.send(new UploadServerCertificateCommand({ ServerCertificateName: name, CertificateBody: body, PrivateKey: key }));
    await expectAwsError(upload("mismatch", rsa.cert, other.key), "KeyPairMismatchException", 400);
    await expectAwsError(
      upload("garbage", "not a certificate", rsa.key),
      "MalformedCertificateException",
      400,
      "Unable to parse certificate. Please ensure the certificate is in PEM format.",
    );
    await expectAwsError(upload("two", rsa.cert + other.cert, rsa.key), "MalformedCertificateException", 400);
    const corrupt = rsa.cert.replace(/\n[A-Za-z0-9+/]{20}/, "\nAAAAAAAAAAAAAAAAAAAA");
    await expectAwsError(upload("corrupt", corrupt, rsa.key), "MalformedCertificateException", 400);
    await expectAwsError(upload("no-key", rsa.cert, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "MalformedCertificateException", 400);
    await expectAwsError(upload("cert-as-key", rsa.cert, rsa.cert), "MalformedCertificateException", 400);
    await expectAwsError(
      iam.send(new UploadServerCertificateCommand({ ServerCertificateName: "bad/name", CertificateBody: rsa.cert, PrivateKey: rsa.key })),
      "ValidationError",
      400,
    );
    await expectAwsError(
      iam.send(new UploadServerCertificateCommand({ ServerCertificateName: "ok", Path: "no-slash", CertificateBody: rsa.cert, PrivateKey: rsa.key })),
      "ValidationError",
      400,
    );
    expect((await iam.send(new ListServerCertificatesCommand({}))).ServerCertificateMetadataList).toEqual([]);

    for (let n = 0; n < 20; n++) await upload(`cert-${String(n).padStart(2, "0")}`, rsa.cert, rsa.key);
    await expectAwsError(upload("CERT-00", rsa.cert, rsa.key), "EntityAlreadyExistsException", 409, "The Server Certificate with name CERT-00 already exists.");
    await expectAwsError(upload("cert-20", rsa.cert, rsa.key), "LimitExceededException", 409, "Cannot exceed quota for ServerCertificatesPerAccount: 20");
    await expectAwsError(
      iam.send(new UpdateServerCertificateCommand({ ServerCertificateName: "cert-01", NewServerCertificateName: "Cert-02" })),
      "EntityAlreadyExistsException",
      409,
    );
    const page1 = await iam.send(new ListServerCertificatesCommand({ MaxItems: 15 }));
    const page2 = await iam.send(new ListServerCertificatesCommand({ Marker: page1.Marker }));
    expect([...page1.ServerCertificateMetadataList!, ...page2.ServerCertificateMetadataList!].map((m) => m.ServerCertificateName)).toEqual(
      Array.from({ length: 20 }, (_, n) => `cert-${String(n).padStart(2, "0")}`),
    );
    for (let n = 0; n < 20; n++) await iam.send(new DeleteServerCertificateCommand({ ServerCertificateName: `cert-${String(n).padStart(2, "0")}` }));
  });

  it("keeps the private key sealed at rest and the certificate across a restart", async () => {
    const dir = await startTestServer();
    try {
      const client = new IAMClient(dir.config);
      await client.send(new UploadServerCertificateCommand({ ServerCertificateName: "kept", CertificateBody: rsa.cert, PrivateKey: rsa.key }));
      await dir.stop();
      const stored = dataDirText(dir.dataDir);
      expect(stored).toContain(pemBase64(rsa.cert).slice(0, 60));
      for (const line of rsa.key.split("\n").filter((l) => /^[A-Za-z0-9+/]{40,}$/.test(l))) expect(stored).not.toContain(line);
      const again = await startTestServer({ dataDir: dir.dataDir });
      try {
        const got = await new IAMClient(again.config).send(new GetServerCertificateCommand({ ServerCertificateName: "kept" }));
        expect(got.ServerCertificate!.CertificateBody).toBe(rsa.cert);
      } finally {
        await again.close();
      }
    } finally {
      await dir.close();
    }
  });

  it("will not start without the credentials key once a private key is sealed under it", async () => {
    const first = await startTestServer();
    try {
      await new IAMClient(first.config).send(new UploadServerCertificateCommand({ ServerCertificateName: "sealed", CertificateBody: rsa.cert, PrivateKey: rsa.key }));
      await first.stop();
      rmSync(join(first.dataDir, "credentials.key"));
      await expect(startTestServer({ dataDir: first.dataDir })).rejects.toThrow(/credentials\.key is missing/);
    } finally {
      await first.close();
    }
  });

  it("refuses a certificate whose 'Not After' date has passed on the service clock", async () => {
    const short = selfSigned("short.example.com", { days: 1 });
    const later = await startTestServer();
    try {
      await later.advanceClock(2 * 86_400);
      await expectAwsError(
        new IAMClient(later.config).send(new UploadServerCertificateCommand({ ServerCertificateName: "expired", CertificateBody: short.cert, PrivateKey: short.key })),
        "MalformedCertificateException",
        400,
        "Certificate is no longer valid. The 'Not After' date restriction on the certificate has passed.",
      );
      await expectAwsError(new IAMClient(later.config).send(new UploadSigningCertificateCommand({ CertificateBody: short.cert })), "InvalidCertificateException", 400);
    } finally {
      await later.close();
    }
  });
});

describe("signing certificates", () => {
  it("uploads up to two per user, updates their status, shows them in the credential report and blocks DeleteUser", async () => {
    await iam.send(new CreateUserCommand({ UserName: "signer" }));
    const a = selfSigned("signer-a");
    const b = selfSigned("signer-b");
    const up = await iam.send(new UploadSigningCertificateCommand({ UserName: "signer", CertificateBody: a.cert }));
    expect(up.Certificate).toMatchObject({ UserName: "signer", CertificateBody: a.cert, Status: "Active" });
    expect(up.Certificate!.CertificateId).toMatch(/^[A-Z2-7]{32}$/);
    await expectAwsError(iam.send(new UploadSigningCertificateCommand({ UserName: "signer", CertificateBody: a.cert })), "DuplicateCertificateException", 409);
    const second = await iam.send(new UploadSigningCertificateCommand({ UserName: "signer", CertificateBody: b.cert }));
    await expectAwsError(
      iam.send(new UploadSigningCertificateCommand({ UserName: "signer", CertificateBody: selfSigned("signer-c").cert })),
      "LimitExceededException",
      409,
      "Cannot exceed quota for SigningCertificatesPerUser: 2",
    );
    await expectAwsError(iam.send(new UploadSigningCertificateCommand({ UserName: "signer", CertificateBody: "junk" })), "MalformedCertificateException", 400);
    await expectAwsError(iam.send(new UploadSigningCertificateCommand({ UserName: "nobody", CertificateBody: a.cert })), "NoSuchEntityException", 404);

    await iam.send(new UpdateSigningCertificateCommand({ UserName: "signer", CertificateId: second.Certificate!.CertificateId!, Status: "Inactive" }));
    await expectAwsError(
      iam.send(new UpdateSigningCertificateCommand({ UserName: "signer", CertificateId: second.Certificate!.CertificateId!, Status: "Expired" })),
      // Expired is in the newer model's statusType, so it passes validation and the service refuses it
      "InvalidInputException",
      400,
      "Status Expired cannot be set: use Active or Inactive.",
    );
    await expectAwsError(iam.send(new UpdateSigningCertificateCommand({ UserName: "signer", CertificateId: "A".repeat(32), Status: "Inactive" })), "NoSuchEntityException", 404);
    const listed = await iam.send(new ListSigningCertificatesCommand({ UserName: "signer" }));
    expect(listed.Certificates!.map((c) => [c.CertificateId, c.Status])).toEqual([
      [up.Certificate!.CertificateId, "Active"],
      [second.Certificate!.CertificateId, "Inactive"],
    ]);

    await iam.send(new GenerateCredentialReportCommand({}));
    const csv = new TextDecoder().decode((await iam.send(new GetCredentialReportCommand({}))).Content);
    const [header, ...rows] = csv.split("\n").map((l) => l.split(","));
    const row = rows.find((r) => r[0] === "signer")!;
    const col = (name: string) => row[header.indexOf(name)];
    expect([col("cert_1_active"), col("cert_2_active")]).toEqual(["true", "false"]);
    expect(col("cert_1_last_rotated")).toBe(up.Certificate!.UploadDate!.toISOString().replace(/\.\d{3}Z$/, "+00:00"));

    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "signer" })), "DeleteConflictException", 409, "Cannot delete entity, must delete signing certificates first.");
    for (const c of listed.Certificates!) await iam.send(new DeleteSigningCertificateCommand({ UserName: "signer", CertificateId: c.CertificateId! }));
    await iam.send(new DeleteUserCommand({ UserName: "signer" }));
  });

  it("acts on the caller when UserName is left out: an IAM user's own, and the root user's", async () => {
    const creds = await userWithKey(iam, "self-signer", doc([allow(["iam:UploadSigningCertificate", "iam:ListSigningCertificates"], `arn:aws:iam::${ACCOUNT}:user/self-signer`)]));
    const self = new IAMClient(s.configFor(creds));
    const cert = selfSigned("self-signer");
    await self.send(new UploadSigningCertificateCommand({ CertificateBody: cert.cert }));
    expect((await self.send(new ListSigningCertificatesCommand({}))).Certificates!.map((c) => c.UserName)).toEqual(["self-signer"]);
    // not another user's
    await expectAwsError(self.send(new ListSigningCertificatesCommand({ UserName: "signer-root-test" })), "AccessDenied", 403);

    expect((await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!.AccountSigningCertificatesPresent).toBe(0);
    const root = await iam.send(new UploadSigningCertificateCommand({ CertificateBody: selfSigned("root").cert }));
    expect(root.Certificate!.UserName).toBe(ACCOUNT);
    expect((await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!.AccountSigningCertificatesPresent).toBe(1);
    await iam.send(new DeleteSigningCertificateCommand({ CertificateId: root.Certificate!.CertificateId! }));
    expect((await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!.AccountSigningCertificatesPresent).toBe(0);
  });
});

describe("SSH public keys", () => {
  const rsa = sshKey("rsa", 2048);

  it("uploads an OpenSSH key with ssh-keygen's MD5 fingerprint and gives it back as SSH or PEM", async () => {
    await iam.send(new CreateUserCommand({ UserName: "git-user" }));
    const up = (await iam.send(new UploadSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyBody: rsa.openssh }))).SSHPublicKey!;
    expect(up.SSHPublicKeyId).toMatch(/^APKA[A-Z2-7]{16}$/);
    expect(up).toMatchObject({ UserName: "git-user", Fingerprint: rsa.md5, Status: "Active" });
    expect(up.Fingerprint).toHaveLength(47);
    const sshForm = rsa.openssh.split(" ").slice(0, 2).join(" ");
    expect(up.SSHPublicKeyBody).toBe(sshForm);
    const asSsh = (await iam.send(new GetSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyId: up.SSHPublicKeyId, Encoding: "SSH" }))).SSHPublicKey!;
    expect(asSsh.SSHPublicKeyBody).toBe(sshForm);
    const asPem = (await iam.send(new GetSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyId: up.SSHPublicKeyId, Encoding: "PEM" }))).SSHPublicKey!;
    expect(asPem.SSHPublicKeyBody!.trim()).toBe(rsa.pem.trim());

    // the same key in PEM form is the same key
    await expectAwsError(iam.send(new UploadSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyBody: rsa.pem })), "DuplicateSSHPublicKeyException", 400);
    await iam.send(new UpdateSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyId: up.SSHPublicKeyId, Status: "Inactive" }));
    expect((await iam.send(new ListSSHPublicKeysCommand({ UserName: "git-user" }))).SSHPublicKeys).toEqual([
      { UserName: "git-user", SSHPublicKeyId: up.SSHPublicKeyId, Status: "Inactive", UploadDate: up.UploadDate },
    ]);
    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "git-user" })), "DeleteConflictException", 409, "Cannot delete entity, must delete SSH public keys first.");
    await iam.send(new DeleteSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyId: up.SSHPublicKeyId }));
    await expectAwsError(
      iam.send(new GetSSHPublicKeyCommand({ UserName: "git-user", SSHPublicKeyId: up.SSHPublicKeyId, Encoding: "SSH" })),
      "NoSuchEntityException",
      404,
      `The Public Key with id ${up.SSHPublicKeyId} cannot be found.`,
    );
    await iam.send(new DeleteUserCommand({ UserName: "git-user" }));
  });

  it("takes a PEM key, refuses other key types, short or damaged keys, and more than five", async () => {
    await iam.send(new CreateUserCommand({ UserName: "git-many" }));
    const upload = (body: string) => iam.send(new UploadSSHPublicKeyCommand({ UserName: "git-many", SSHPublicKeyBody: body }));
    const pemKey = sshKey("rsa", 2048);
    expect((await upload(pemKey.pem)).SSHPublicKey!.Fingerprint).toBe(pemKey.md5);
    await expectAwsError(upload(sshKey("ed25519").openssh), "UnrecognizedPublicKeyEncodingException", 400);
    await expectAwsError(upload(sshKey("rsa", 1024).openssh), "InvalidPublicKeyException", 400);
    await expectAwsError(upload("ssh-rsa !!!not-base64"), "InvalidPublicKeyException", 400);
    await expectAwsError(upload(`ssh-rsa ${Buffer.from("\u0000\u0000\u0000\u0007ssh-dss").toString("base64")}`), "InvalidPublicKeyException", 400);
    await expectAwsError(upload("hello"), "UnrecognizedPublicKeyEncodingException", 400);
    for (let n = 0; n < 4; n++) await upload(sshKey("rsa", 2048).openssh);
    await expectAwsError(upload(sshKey("rsa", 2048).openssh), "LimitExceededException", 409, "Cannot exceed quota for PublicKeysPerUser: 5");
    await expectAwsError(iam.send(new UploadSSHPublicKeyCommand({ UserName: "nobody", SSHPublicKeyBody: rsa.openssh })), "NoSuchEntityException", 404);
    expect((await iam.send(new ListSSHPublicKeysCommand({ UserName: "git-many", MaxItems: 3 }))).IsTruncated).toBe(true);
  });

  it("takes RSA keys of up to 16384 bits and refuses larger ones in either format, and bodies over the model's 16384 characters", async () => {
    await iam.send(new CreateUserCommand({ UserName: "git-big" }));
    const upload = (body: string) => iam.send(new UploadSSHPublicKeyCommand({ UserName: "git-big", SSHPublicKeyBody: body }));
    // an ssh-rsa wire blob (RFC 4253: string "ssh-rsa", mpint e, mpint n) with an odd modulus of exactly `bits` bits
    const rsaOf = (bits: number) => {
      const n = randomBytes(bits / 8);
      n[0] |= 0x80;
      n[n.length - 1] |= 1;
      const field = (b: Buffer) => Buffer.concat([Buffer.from([b.length >>> 24, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255]), b]);
      const blob = Buffer.concat([field(Buffer.from("ssh-rsa")), field(Buffer.from([1, 0, 1])), field(Buffer.concat([Buffer.alloc(1), n]))]);
      const pem = createPublicKey({ key: { kty: "RSA", n: n.toString("base64url"), e: "AQAB" }, format: "jwk" })
        .export({ type: "spki", format: "pem" })
        .toString();
      const md5 = createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
      return { openssh: `ssh-rsa ${blob.toString("base64")} big@example`, pem, md5 };
    };
    const largest = rsaOf(16384);
    expect((await upload(largest.openssh)).SSHPublicKey!.Fingerprint).toBe(largest.md5);
    const tooBig = rsaOf(16392);
    const message = "The public key is not valid: an RSA key must be at most 16384 bits, this one is 16392.";
    await expectAwsError(upload(tooBig.openssh), "InvalidPublicKeyException", 400, message);
    await expectAwsError(upload(tooBig.pem), "InvalidPublicKeyException", 400, message);
    // the longest key body the model allows still fits; one character more is refused before it is parsed
    expect(rsaOf(16384).openssh.length).toBeLessThan(16384);
    await expectAwsError(upload("ssh-rsa " + "A".repeat(16377)), "ValidationError", 400, /Member must have length less than or equal to 16384/);
    expect((await iam.send(new ListSSHPublicKeysCommand({ UserName: "git-big" }))).SSHPublicKeys).toHaveLength(1);
  });
});
