/**
 * Verifying a SAML 2.0 response for AssumeRoleWithSAML
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml_assertions.html):
 * the XML signature (of the Response or of its Assertion) must verify with xml-crypto against a
 * signing certificate of the provider's metadata, never a certificate the document carries
 * itself; everything after that is read only from what the signature covers (xml-crypto's signed
 * references), so content outside the signed element (signature wrapping) is never believed.
 */
import { createHash } from "node:crypto";
import type * as XmlCrypto from "xml-crypto";
import { lazyPackage } from "../../util/lazy-package.ts";
import type { Element } from "@xmldom/xmldom";
import { DS_NS, parseXml } from "../iam/saml-metadata.ts";
import type { SamlProviderRec } from "../iam/state.ts";
import { invalidToken } from "./oidc-token.ts";

const xmlCrypto = lazyPackage<typeof XmlCrypto>("xml-crypto");

const SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion";
export const ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role";
export const SESSION_NAME_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
/** The audiences AWS accepts for sign-in with SAML. */
export const AWS_AUDIENCES = ["https://signin.aws.amazon.com/saml", "urn:amazon:webservices"];
const SIGNATURE_METHODS = new Set([
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
  "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
]);

export interface SamlClaims {
  issuer: string;
  subject: string;
  /** the NameID Format: "persistent", "transient" or the full URI for other formats */
  subjectType: string;
  /** SubjectConfirmationData Recipient (saml:aud) */
  recipient: string;
  audiences: string[];
  issueInstant?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  attributes: Map<string, string[]>;
}

function first(el: Element, ns: string, local: string): Element | undefined {
  return Array.from(el.getElementsByTagNameNS(ns, local))[0];
}
function directChildren(el: Element, ns: string, local: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local);
}
function date(v: string | null | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw invalidToken(`Invalid SAML date: ${v}`);
  return d;
}

/** The signed Assertion element, read from the signed references of a signature that verifies. */
function signedAssertion(xml: string, provider: SamlProviderRec): Element {
  const doc = parseXml(xml);
  const root = doc?.documentElement;
  if (!root) throw invalidToken("Invalid SAML response: not well-formed XML.");
  const signed = [root, ...directChildren(root, SAML_NS, "Assertion")];
  const signatures = signed.flatMap((el) => directChildren(el, DS_NS, "Signature"));
  if (!signatures.length) throw invalidToken("The SAML response is not signed.");
  for (const sigNode of signatures) {
    const method = first(sigNode, DS_NS, "SignatureMethod")?.getAttribute("Algorithm");
    if (!method || !SIGNATURE_METHODS.has(method)) continue;
    for (const cert of provider.certificates) {
      const sig = new (xmlCrypto().SignedXml)({ publicCert: cert, getCertFromKeyInfo: () => null });
      let refs: string[];
      try {
        sig.loadSignature(sigNode.toString());
        if (!sig.checkSignature(xml)) continue;
        refs = sig.getSignedReferences();
      } catch {
        continue;
      }
      for (const ref of refs) {
        const el = parseXml(ref)?.documentElement;
        if (!el) continue;
        if (el.namespaceURI === SAML_NS && el.localName === "Assertion") return el;
        if (el.namespaceURI === SAMLP_NS && el.localName === "Response") {
          const assertions = directChildren(el, SAML_NS, "Assertion");
          if (assertions.length === 1) return assertions[0];
        }
      }
    }
  }
  throw invalidToken("The SAML response's signature does not verify with a signing certificate of the identity provider's metadata.");
}

/** Decodes, verifies and reads a base64 SAML response. */
export function verifySamlResponse(base64: string, provider: SamlProviderRec): SamlClaims {
  const compact = base64.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw invalidToken("Invalid base64 SAML response.");
  const xml = Buffer.from(compact, "base64").toString("utf8");
  const assertion = signedAssertion(xml, provider);
  const issuer = first(assertion, SAML_NS, "Issuer")?.textContent?.trim() ?? "";
  const subjectEl = first(assertion, SAML_NS, "Subject");
  const nameId = subjectEl ? first(subjectEl, SAML_NS, "NameID") : undefined;
  const format = nameId?.getAttribute("Format") ?? "urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified";
  const confirmation = subjectEl ? first(subjectEl, SAML_NS, "SubjectConfirmationData") : undefined;
  const conditions = first(assertion, SAML_NS, "Conditions");
  const attributes = new Map<string, string[]>();
  for (const a of Array.from(assertion.getElementsByTagNameNS(SAML_NS, "Attribute"))) {
    const name = a.getAttribute("Name");
    if (!name) continue;
    const values = Array.from(a.getElementsByTagNameNS(SAML_NS, "AttributeValue")).map((v) => (v.textContent ?? "").trim());
    attributes.set(name, [...(attributes.get(name) ?? []), ...values]);
  }
  const confirmEnd = date(confirmation?.getAttribute("NotOnOrAfter"));
  const conditionsEnd = date(conditions?.getAttribute("NotOnOrAfter"));
  const ends = [confirmEnd, conditionsEnd].filter((d): d is Date => d !== undefined);
  return {
    issuer,
    subject: nameId?.textContent?.trim() ?? "",
    subjectType: format.replace(/^urn:oasis:names:tc:SAML:2\.0:nameid-format:(persistent|transient)$/, "$1"),
    recipient: confirmation?.getAttribute("Recipient") ?? "",
    audiences: conditions ? Array.from(conditions.getElementsByTagNameNS(SAML_NS, "Audience")).map((a) => (a.textContent ?? "").trim()) : [],
    issueInstant: date(assertion.getAttribute("IssueInstant")),
    notBefore: date(conditions?.getAttribute("NotBefore")),
    notOnOrAfter: ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : undefined,
    attributes,
  };
}

/** saml:namequalifier: base64(SHA-1(issuer + account id + "/" + provider name)). */
export function nameQualifier(issuer: string, provider: SamlProviderRec): string {
  return createHash("sha1").update(`${issuer}${provider.accountId}/${provider.name}`).digest("base64");
}
