/**
 * Raw S3 Control calls for the account's Block Public Access (no @aws-sdk/client-s3-control here):
 * signed as the SDKs sign them (service `s3`, `x-amz-account-id`), sent path-style to the test
 * server or to the `<account>.localhost` host the SDKs and the CLI prefix to a custom endpoint.
 */
import { request } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "../support/signed-fetch.ts";

export const ACCOUNT_PAB_PATH = "/v20180820/configuration/publicAccessBlock";

export interface ControlResponse {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface ControlCall {
  method: "GET" | "PUT" | "DELETE" | "POST";
  /** x-amz-account-id; null leaves the header out */
  accountId: string | null;
  body?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** the Host to send (default: the server's own host:port) */
  host?: string;
  path?: string;
  region?: string;
}

export async function s3Control(endpoint: string, call: ControlCall): Promise<ControlResponse> {
  const url = new URL(endpoint);
  const host = call.host ?? url.host;
  const signer = new SignatureV4({
    service: "s3",
    region: call.region ?? "us-east-1",
    credentials: call.credentials ?? { accessKeyId: "test", secretAccessKey: "test" },
    sha256: Sha256,
    uriEscapePath: false,
  });
  const headers: Record<string, string> = { host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" };
  if (call.accountId !== null) headers["x-amz-account-id"] = call.accountId;
  if (call.body !== undefined) headers["content-type"] = "application/xml";
  const signed = await signer.sign({
    method: call.method,
    protocol: "http:",
    hostname: host.replace(/:\d+$/, ""),
    port: Number(url.port),
    path: call.path ?? ACCOUNT_PAB_PATH,
    headers,
    body: call.body,
  });
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: Number(url.port), method: call.method, path: call.path ?? ACCOUNT_PAB_PATH, headers: signed.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(call.body);
  });
}

/** A PutPublicAccessBlock body, as the SDKs serialize it. */
export function accountBlockXml(settings: Partial<Record<"BlockPublicAcls" | "IgnorePublicAcls" | "BlockPublicPolicy" | "RestrictPublicBuckets", boolean>>): string {
  const inner = Object.entries(settings)
    .map(([k, v]) => `<${k}>${String(v)}</${k}>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?><PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">${inner}</PublicAccessBlockConfiguration>`;
}

/** The code and message of an S3 error document. */
export function errorOf(body: string): { code?: string; message?: string } {
  return { code: /<Code>([^<]*)<\/Code>/.exec(body)?.[1], message: /<Message>([^<]*)<\/Message>/.exec(body)?.[1] };
}
