/**
 * The test OIDC issuer as a process, for acceptance scripts: writes {url, host, tokens} to the
 * file named first (one token per subject named after it, audience sts.amazonaws.com) and serves
 * the discovery document and JWKS until it is terminated.
 *
 *   node --import tsx test/support/oidc-issuer-cli.ts OUT.json SUBJECT...
 */
import { writeFileSync } from "node:fs";
import { startTestIssuer } from "./oidc-issuer.ts";

const [out, ...subjects] = process.argv.slice(2);
if (!out) {
  console.error("usage: oidc-issuer-cli.ts OUT.json SUBJECT...");
  process.exit(2);
}
const issuer = await startTestIssuer();
const tokens: Record<string, string> = {};
for (const sub of subjects) tokens[sub] = await issuer.token({ sub, aud: "sts.amazonaws.com" });
writeFileSync(out, JSON.stringify({ url: issuer.url, host: issuer.host, tokens }));
process.on("SIGTERM", () => void issuer.close().then(() => process.exit(0)));
