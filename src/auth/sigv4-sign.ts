/**
 * Signing a request with SigV4 (header form), for localfargate's own command line calling its
 * server ("Create a signed AWS API request",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). It reuses the
 * canonicalisation the server verifies with, so both sides agree by construction.
 */
import { createHash, createHmac } from "node:crypto";
import { ALGORITHM, canonicalRequest, deriveSigningKey, toAmzDate, type ParsedAuth } from "./sigv4.ts";

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const sha256Hex = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The headers to send with the request (host, x-amz-date, the session token, Authorization). */
export function signedHeaders(
  req: { method: string; url: URL; body?: Buffer },
  creds: SigningCredentials,
  scope: { region: string; service: string },
  nowMs: number,
): Record<string, string> {
  const amzDate = toAmzDate(nowMs);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host: req.url.host, "x-amz-date": amzDate };
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;
  const names = Object.keys(headers).sort();
  const body = req.body ?? Buffer.alloc(0);
  const auth: ParsedAuth = { kind: "header", accessKeyId: creds.accessKeyId, date, region: scope.region, service: scope.service, signedHeaders: names, signature: "", amzDate };
  const creq = canonicalRequest({ method: req.method, path: req.url.pathname, query: req.url.search.slice(1), headers, body }, auth, sha256Hex(body));
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${credentialScope}\n${sha256Hex(creq)}`;
  const signature = createHmac("sha256", deriveSigningKey(creds.secretAccessKey, date, scope.region, scope.service))
    .update(stringToSign)
    .digest("hex");
  return { ...headers, authorization: `${ALGORITHM} Credential=${creds.accessKeyId}/${credentialScope}, SignedHeaders=${names.join(";")}, Signature=${signature}` };
}
