/** fetch with a SigV4 signature made by @smithy/signature-v4, for raw protocol tests. */
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";

const toBytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === "string" ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

export class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac("sha256", toBytes(secret)) : createHash("sha256");
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

export async function signedFetch(
  endpoint: string,
  service: string,
  body: string,
  headers: Record<string, string>,
  credentials = { accessKeyId: "test", secretAccessKey: "test" },
  region = "us-east-1",
): Promise<Response> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: { host: url.host, ...headers },
    body,
  });
  return fetch(endpoint, { method: "POST", headers: signed.headers as Record<string, string>, body });
}
