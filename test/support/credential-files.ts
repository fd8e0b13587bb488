/**
 * Certificates and SSH keys for the IAM credential tests, made with openssl and ssh-keygen (an
 * oracle independent of the server's node:crypto parsing): self-signed certificates, a CA →
 * intermediate → leaf chain, and RSA/Ed25519 SSH keys with their MD5 fingerprints.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertAndKey {
  cert: string;
  key: string;
}

function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "lf-cred-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const run = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "ignore"] });

/** A self-signed certificate and its unencrypted PKCS#8 key (EC P-256, or RSA of `rsaBits`). */
export function selfSigned(cn: string, opts: { days?: number; rsaBits?: number } = {}): CertAndKey {
  return inTempDir((dir) => {
    const keyArgs = opts.rsaBits ? ["-newkey", `rsa:${opts.rsaBits}`] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    run(["req", "-x509", ...keyArgs, "-nodes", "-subj", `/CN=${cn}`, "-days", String(opts.days ?? 30), "-keyout", join(dir, "k"), "-out", join(dir, "c")]);
    return { cert: readFileSync(join(dir, "c"), "utf8"), key: readFileSync(join(dir, "k"), "utf8") };
  });
}

/** A leaf certificate signed by an intermediate CA signed by a root CA (all EC P-256). */
export function certificateChain(cn: string): { leaf: CertAndKey; intermediate: string; root: string } {
  return inTempDir((dir) => {
    const f = (n: string) => join(dir, n);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(["req", "-x509", ...ec, "-subj", "/CN=Test Root CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", f("root.key"), "-out", f("root.crt")]);
    run(["req", "-new", ...ec, "-subj", "/CN=Test Intermediate CA", "-keyout", f("int.key"), "-out", f("int.csr")]);
    writeFileSync(f("ca.ext"), "basicConstraints=critical,CA:TRUE\n");
    run(["x509", "-req", "-in", f("int.csr"), "-CA", f("root.crt"), "-CAkey", f("root.key"), "-CAcreateserial", "-days", "30", "-extfile", f("ca.ext"), "-out", f("int.crt")]);
    run(["req", "-new", ...ec, "-subj", `/CN=${cn}`, "-keyout", f("leaf.key"), "-out", f("leaf.csr")]);
    run(["x509", "-req", "-in", f("leaf.csr"), "-CA", f("int.crt"), "-CAkey", f("int.key"), "-CAcreateserial", "-days", "30", "-out", f("leaf.crt")]);
    const read = (n: string) => readFileSync(f(n), "utf8");
    return { leaf: { cert: read("leaf.crt"), key: read("leaf.key") }, intermediate: read("int.crt"), root: read("root.crt") };
  });
}

export interface SshKey {
  /** the OpenSSH public key line, comment included */
  openssh: string;
  /** the same key as a PEM SubjectPublicKeyInfo */
  pem: string;
  /** ssh-keygen's MD5 fingerprint, colon-separated hex */
  md5: string;
}

/** An SSH key pair's public half, made by ssh-keygen (`type` rsa with `bits`, or ed25519). */
export function sshKey(type: "rsa" | "ed25519" = "rsa", bits = 2048): SshKey {
  return inTempDir((dir) => {
    const f = join(dir, "id");
    const sizeArgs = type === "rsa" ? ["-b", String(bits)] : [];
    execFileSync("ssh-keygen", ["-q", "-t", type, ...sizeArgs, "-N", "", "-C", "tester@example", "-f", f], { stdio: "ignore" });
    const openssh = readFileSync(`${f}.pub`, "utf8").trim();
    const pem = type === "rsa" ? execFileSync("ssh-keygen", ["-e", "-m", "PKCS8", "-f", `${f}.pub`], { encoding: "utf8" }) : "";
    const md5 = /MD5:([0-9a-f:]+)/.exec(execFileSync("ssh-keygen", ["-l", "-E", "md5", "-f", `${f}.pub`], { encoding: "utf8" }))![1];
    return { openssh, pem, md5 };
  });
}
