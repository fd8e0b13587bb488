/**
 * A SAML identity provider for tests: a key pair and self-signed certificate (openssl), its
 * metadata document, and SAML responses whose assertion is signed with xml-crypto.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignedXml } from "xml-crypto";

export interface TestIdp {
  entityId: string;
  metadata: string;
  /** a base64 SAML response with a signed assertion */
  response(opts: AssertionOptions): string;
  /** the same, signed with another key (not the metadata's) */
  responseSignedByStranger(opts: AssertionOptions): string;
  /** an unsigned XML response, to tamper with before encoding */
  signedXml(opts: AssertionOptions): string;
}

export interface AssertionOptions {
  subject: string;
  roles: string[];
  sessionName?: string;
  audience?: string;
  recipient?: string;
  issuer?: string;
  /** seconds relative to now */
  issuedAt?: number;
  notOnOrAfter?: number;
  extraAttributes?: Record<string, string[]>;
}

function keyPair(dir: string, name: string): { key: string; certBase64: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-days", "2", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  const cert = readFileSync(certFile, "utf8");
  return { key: readFileSync(keyFile, "utf8"), certBase64: cert.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "") };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const iso = (offsetSeconds: number) => new Date(Date.now() + offsetSeconds * 1000).toISOString();

function responseXml(entityId: string, o: AssertionOptions): string {
  const attrs: Record<string, string[]> = { "https://aws.amazon.com/SAML/Attributes/Role": o.roles, ...(o.extraAttributes ?? {}) };
  if (o.sessionName !== undefined) attrs["https://aws.amazon.com/SAML/Attributes/RoleSessionName"] = [o.sessionName];
  const attributes = Object.entries(attrs)
    .map(([name, values]) => `<saml:Attribute Name="${esc(name)}">${values.map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join("")}</saml:Attribute>`)
    .join("");
  const issued = iso(o.issuedAt ?? 0);
  const until = iso(o.notOnOrAfter ?? 300);
  const issuer = esc(o.issuer ?? entityId);
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp${Math.random().toString(36).slice(2)}" Version="2.0" IssueInstant="${issued}" Destination="https://signin.aws.amazon.com/saml">` +
    `<saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="_a${Math.random().toString(36).slice(2)}" Version="2.0" IssueInstant="${issued}"><saml:Issuer>${issuer}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(o.subject)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${esc(o.recipient ?? "https://signin.aws.amazon.com/saml")}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(-60)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? "https://signin.aws.amazon.com/saml")}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attributes}</saml:AttributeStatement></saml:Assertion></samlp:Response>`
  );
}

function sign(xml: string, key: string): string {
  const sig = new SignedXml({
    privateKey: key,
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
  });
  sig.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    transforms: ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"],
  });
  sig.computeSignature(xml, { location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: "after" } });
  return sig.getSignedXml();
}

export function startTestIdp(entityId = "https://idp.example.com/saml"): TestIdp {
  const dir = mkdtempSync(join(tmpdir(), "localfargate-idp-"));
  try {
    const own = keyPair(dir, "idp");
    const stranger = keyPair(dir, "stranger");
    const metadata =
      `<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${esc(entityId)}">` +
      `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${own.certBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
      `<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
    const b64 = (xml: string) => Buffer.from(xml).toString("base64");
    return {
      entityId,
      metadata,
      response: (o) => b64(sign(responseXml(entityId, o), own.key)),
      responseSignedByStranger: (o) => b64(sign(responseXml(entityId, o), stranger.key)),
      signedXml: (o) => sign(responseXml(entityId, o), own.key),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
