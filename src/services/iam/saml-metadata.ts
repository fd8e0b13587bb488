/**
 * SAML 2.0 metadata as IAM reads it for a SAML provider
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html): the
 * identity provider's entity ID, its signing certificates and the document's validUntil. Parsed
 * with @xmldom/xmldom; a document type declaration (DTD, entities) is refused outright.
 */
import type { Document, Element } from "@xmldom/xmldom";
import type * as XmlDom from "@xmldom/xmldom";
import { lazyPackage } from "../../util/lazy-package.ts";
import { invalidInput } from "./common.ts";

const xmldom = lazyPackage<typeof XmlDom>("@xmldom/xmldom");

export const MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata";
export const DS_NS = "http://www.w3.org/2000/09/xmldsig#";

export interface SamlMetadata {
  entityId: string;
  /** PEM certificates the identity provider signs with */
  certificates: string[];
  validUntil?: Date;
}

/** Parses XML without a DTD; returns undefined when it is not well-formed. */
export function parseXml(xml: string): Document | undefined {
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) return undefined;
  let failed = false;
  try {
    const doc = new (xmldom().DOMParser)({
      onError: (level) => {
        if (level !== "warning") failed = true;
      },
    }).parseFromString(xml, "text/xml");
    return failed || !doc.documentElement ? undefined : doc;
  } catch {
    return undefined;
  }
}

/** A base64 DER certificate as PEM. */
export function certificatePem(base64: string): string {
  const body = base64.replace(/\s+/g, "");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n") ?? ""}\n-----END CERTIFICATE-----\n`;
}

function children(el: Element, ns: string, local: string): Element[] {
  return Array.from(el.getElementsByTagNameNS(ns, local));
}

/** The metadata of a SAML provider, or IAM's InvalidInput. */
export function parseSamlMetadata(xml: string): SamlMetadata {
  const invalid = () => invalidInput("Could not parse metadata");
  const doc = parseXml(xml);
  const root = doc?.documentElement;
  if (!root || root.namespaceURI !== MD_NS || root.localName !== "EntityDescriptor") throw invalid();
  const entityId = root.getAttribute("entityID");
  if (!entityId) throw invalid();
  const idp = children(root, MD_NS, "IDPSSODescriptor")[0];
  if (!idp) throw invalid();
  const certificates: string[] = [];
  for (const kd of children(idp, MD_NS, "KeyDescriptor")) {
    const use = kd.getAttribute("use");
    if (use && use !== "signing") continue;
    for (const c of children(kd, DS_NS, "X509Certificate")) {
      const text = (c.textContent ?? "").replace(/\s+/g, "");
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw invalid();
      certificates.push(certificatePem(text));
    }
  }
  if (!certificates.length) throw invalid();
  const until = root.getAttribute("validUntil");
  const validUntil = until ? new Date(until) : undefined;
  if (validUntil && Number.isNaN(validUntil.getTime())) throw invalid();
  return { entityId, certificates, ...(validUntil ? { validUntil } : {}) };
}
