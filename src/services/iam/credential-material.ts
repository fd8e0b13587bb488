/**
 * Parsing and checking what users upload as credentials, with node:crypto: PEM X.509
 * certificates (server and signing certificates), their private keys and chains, and SSH public
 * keys (OpenSSH `ssh-rsa` or PEM). IAM's errors and quotas: UploadServerCertificate,
 * UploadSigningCertificate and UploadSSHPublicKey in the IAM API Reference
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSSHPublicKey.html) and
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from "node:crypto";
import { ServiceError } from "../../kernel/errors.ts";

export const malformedCertificate = (message: string) => new ServiceError("MalformedCertificate", message, 400);
export const invalidCertificate = (message: string) => new ServiceError("InvalidCertificate", message, 400);
export const keyPairMismatch = () => new ServiceError("KeyPairMismatch", "Unable to validate that the private key matches the certificate: they are not a key pair.", 400);
export const unrecognizedPublicKey = () =>
  new ServiceError("UnrecognizedPublicKeyEncoding", "The specified public key is not in a recognized format: upload an ssh-rsa public key in OpenSSH or PEM format.", 400);
export const invalidPublicKey = (message: string) => new ServiceError("InvalidPublicKey", message, 400);

const BEGIN = "-----BEGIN ";
const DASHES = "-----";
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The PEM blocks of a text: their labels and DER bytes; undefined when anything but whitespace
 * is between them or a block does not close. One pass of indexOf (no backtracking regular
 * expression: a chain may be 2 MB of whatever a caller sends).
 */
function pemBlocks(text: string): { label: string; der: Buffer }[] | undefined {
  const blocks: { label: string; der: Buffer }[] = [];
  let at = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, at);
    if (text.slice(at, begin < 0 ? undefined : begin).trim() !== "") return undefined;
    if (begin < 0) return blocks;
    const labelEnd = text.indexOf(DASHES, begin + BEGIN.length);
    if (labelEnd < 0) return undefined;
    const label = text.slice(begin + BEGIN.length, labelEnd);
    if (!/^[A-Z0-9 ]{1,64}$/.test(label)) return undefined;
    const endMarker = `-----END ${label}-----`;
    const end = text.indexOf(endMarker, labelEnd + DASHES.length);
    if (end < 0) return undefined;
    const b64 = text.slice(labelEnd + DASHES.length, end).replace(/\s+/g, "");
    if (!BASE64.test(b64)) return undefined;
    blocks.push({ label, der: Buffer.from(b64, "base64") });
    at = end + endMarker.length;
  }
}

function parseCertificates(text: string): X509Certificate[] | undefined {
  const blocks = pemBlocks(text);
  if (!blocks || !blocks.length || blocks.some((b) => b.label !== "CERTIFICATE")) return undefined;
  try {
    return blocks.map((b) => new X509Certificate(b.der));
  } catch {
    return undefined;
  }
}

/** One PEM certificate (a certificate body), or MalformedCertificate. */
export function parseCertificateBody(body: string): X509Certificate {
  const certs = parseCertificates(body);
  if (!certs || certs.length !== 1) throw malformedCertificate("Unable to parse certificate. Please ensure the certificate is in PEM format.");
  return certs[0];
}

export function certificateExpired(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validTo).getTime() < now.getTime();
}

/** SHA-256 of the certificate's DER, hex. */
export function certificateDigest(cert: X509Certificate): string {
  return createHash("sha256").update(cert.raw).digest("hex");
}

/**
 * A server certificate upload: the body parses and has not expired, the private key is an
 * unencrypted PEM key of the certificate's key pair, and the chain (when given) starts with the
 * body's issuer, each certificate issued by the next.
 */
export function checkServerCertificate(body: string, privateKey: string, chain: string | undefined, now: Date): X509Certificate {
  const cert = parseCertificateBody(body);
  if (certificateExpired(cert, now)) throw malformedCertificate("Certificate is no longer valid. The 'Not After' date restriction on the certificate has passed.");
  const blocks = pemBlocks(privateKey);
  if (!blocks || blocks.length !== 1 || !/^(RSA |EC )?PRIVATE KEY$/.test(blocks[0].label))
    throw malformedCertificate("Unable to parse private key. Please ensure the key is an unencrypted PEM private key.");
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKey, format: "pem" });
  } catch {
    throw malformedCertificate("Unable to parse private key. Please ensure the key is an unencrypted PEM private key.");
  }
  if (!cert.checkPrivateKey(key)) throw keyPairMismatch();
  if (chain !== undefined) {
    const chainCerts = parseCertificates(chain);
    if (!chainCerts) throw malformedCertificate("Unable to parse certificate chain. Please ensure the chain is a sequence of PEM certificates.");
    let child = cert;
    chainCerts.forEach((issuer, index) => {
      if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) {
        throw malformedCertificate(
          `Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: ${index}`,
        );
      }
      child = issuer;
    });
  }
  return cert;
}

// ---- SSH public keys ----

/** IAM takes RSA keys of at least 2048 bits (what CodeCommit accepts). */
export const MIN_SSH_RSA_BITS = 2048;
/**
 * AWS documents no upper bound; localfargate takes none larger than OpenSSH itself makes and
 * accepts, 16384 bits (docs/iam-sts.md#certificates-ssh-keys-and-changepassword).
 */
export const MAX_SSH_RSA_BITS = 16384;

function sshString(buf: Buffer, at: number): { value: Buffer; next: number } | undefined {
  if (at + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > buf.length) return undefined;
  return { value: buf.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

function sshEncode(...parts: Buffer[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

/** An mpint: big-endian, with a zero byte before a value whose top bit is set. */
function mpint(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const v = unsigned.subarray(i);
  return v[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), v]) : v;
}

const unsignedOf = (m: Buffer) => {
  let i = 0;
  while (i < m.length - 1 && m[i] === 0) i++;
  return m.subarray(i);
};

export interface SshPublicKey {
  /** `ssh-rsa <base64 wire encoding>` */
  body: string;
  fingerprint: string;
  key: KeyObject;
}

function fromRsaKey(key: KeyObject): SshPublicKey {
  if (key.asymmetricKeyType !== "rsa") throw unrecognizedPublicKey();
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_SSH_RSA_BITS) throw invalidPublicKey(`The public key is not valid: an RSA key must be at least ${MIN_SSH_RSA_BITS} bits, this one is ${bits}.`);
  if (bits > MAX_SSH_RSA_BITS) throw invalidPublicKey(`The public key is not valid: an RSA key must be at most ${MAX_SSH_RSA_BITS} bits, this one is ${bits}.`);
  const jwk = key.export({ format: "jwk" });
  const blob = sshEncode(Buffer.from("ssh-rsa"), mpint(Buffer.from(jwk.e!, "base64url")), mpint(Buffer.from(jwk.n!, "base64url")));
  const md5 = createHash("md5").update(blob).digest("hex");
  return { body: `ssh-rsa ${blob.toString("base64")}`, fingerprint: md5.match(/../g)!.join(":"), key };
}

function parseOpenSsh(text: string): SshPublicKey {
  const [type, b64] = text.split(/\s+/);
  if (type !== "ssh-rsa") throw unrecognizedPublicKey();
  if (!b64 || !BASE64.test(b64)) throw invalidPublicKey("The public key is not valid: its key data is not base64.");
  const blob = Buffer.from(b64, "base64");
  const name = sshString(blob, 0);
  const e = name && sshString(blob, name.next);
  const n = e && sshString(blob, e.next);
  if (!name || !e || !n || n.next !== blob.length || name.value.toString() !== "ssh-rsa" || !n.value.length || !e.value.length) {
    throw invalidPublicKey("The public key is not valid: its key data is not an ssh-rsa key.");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: "RSA", n: unsignedOf(n.value).toString("base64url"), e: unsignedOf(e.value).toString("base64url") }, format: "jwk" });
  } catch {
    throw invalidPublicKey("The public key is not valid: its key data is not an ssh-rsa key.");
  }
  return fromRsaKey(key);
}

function parsePemPublicKey(text: string): SshPublicKey {
  const blocks = pemBlocks(text);
  if (!blocks || blocks.length !== 1 || !/^(RSA )?PUBLIC KEY$/.test(blocks[0].label)) throw unrecognizedPublicKey();
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch {
    throw invalidPublicKey("The public key is not valid: the PEM block is not a public key.");
  }
  return fromRsaKey(key);
}

/** An SSH public key as uploaded: OpenSSH `ssh-rsa AAAA… [comment]` or a PEM RSA public key. */
export function parseSshPublicKey(text: string): SshPublicKey {
  const t = text.trim();
  if (t.startsWith("-----BEGIN ")) return parsePemPublicKey(t);
  return parseOpenSsh(t);
}

/** The key in the encoding GetSSHPublicKey asks for. */
export function sshKeyIn(body: string, encoding: "SSH" | "PEM"): string {
  if (encoding === "SSH") return body;
  return parseSshPublicKey(body).key.export({ type: "spki", format: "pem" }).toString();
}
