/**
 * A local OIDC issuer for tests: a loopback HTTP server serving the discovery document and the
 * JWKS, and ID tokens signed with its key (jose).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from "jose";

export interface TestIssuer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** the URL without its scheme: the provider's name in ARNs and condition keys */
  host: string;
  /** a token signed with the issuer's key; claims override the defaults (iss, iat, exp in 5 minutes) */
  token(claims: JWTPayload, opts?: { key?: CryptoKey; kid?: string; alg?: string }): Promise<string>;
  /** what the server answers (tests break it on purpose) */
  serve: { discovery?: unknown; jwks?: unknown; status?: number };
  requests: string[];
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "test-key-1", alg: "RS256", use: "sig" };
  const requests: string[] = [];
  const serve: TestIssuer["serve"] = {};
  let url = "";
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const send = (body: unknown) => {
      res.writeHead(serve.status ?? 200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/openid-configuration") return send(serve.discovery ?? { issuer: url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ["RS256"] });
    if (req.url === "/jwks") return send(serve.jwks ?? { keys: [jwk] });
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    host: url.replace(/^http:\/\//, ""),
    serve,
    requests,
    async token(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: url, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: opts.alg ?? "RS256", kid: opts.kid ?? "test-key-1", typ: "JWT" })
        .sign(opts.key ?? privateKey);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
