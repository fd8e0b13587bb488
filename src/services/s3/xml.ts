/** The little XML S3 needs: escaping, building elements, reading CreateBucketConfiguration. */

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r\n\t]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : c === "'" ? "&apos;" : `&#${c.charCodeAt(0)};`,
  );
}

export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlNode[];
export interface XmlNode {
  [name: string]: XmlValue | XmlValue[];
}

/** Renders `{Name: value}` pairs in order; arrays repeat the element; null/undefined are left out. */
export function xmlChildren(node: XmlNode): string {
  let out = "";
  for (const [name, v] of Object.entries(node)) out += xmlElement(name, v);
  return out;
}

function xmlElement(name: string, v: XmlValue | XmlValue[]): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map((x) => xmlElement(name, x)).join("");
  if (typeof v === "object") return `<${name}>${xmlChildren(v)}</${name}>`;
  return `<${name}>${xmlEscape(String(v))}</${name}>`;
}

export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

export function xmlDocument(root: string, body: XmlNode, xmlns = S3_XMLNS): Buffer {
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<${root}${xmlns ? ` xmlns="${xmlns}"` : ""}>${xmlChildren(body)}</${root}>`);
}

function xmlUnescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#x?[0-9a-fA-F]+);/g, (_m, e: string) => {
    switch (e) {
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "quot":
        return '"';
      case "apos":
        return "'";
      default:
        return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/**
 * Reads the LocationConstraint of a CreateBucket body. Returns undefined for an empty body;
 * throws "malformed" when the body is not a CreateBucketConfiguration document.
 */
export function parseCreateBucketConfiguration(body: Buffer): { LocationConstraint?: string } | undefined {
  const text = body
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trim();
  if (text === "") return undefined;
  const doc = text.replace(/^<\?xml[^>]*\?>\s*/, "");
  const root = /^<(?:[\w-]+:)?CreateBucketConfiguration(?:\s[^>]*)?(?:\/>|>([\s\S]*)<\/(?:[\w-]+:)?CreateBucketConfiguration>)$/.exec(doc);
  if (!root) throw new Error("malformed");
  const inner = root[1] ?? "";
  const lc = /<(?:[\w-]+:)?LocationConstraint(?:\s[^>]*)?(?:\/>|>([^<]*)<\/(?:[\w-]+:)?LocationConstraint>)/.exec(inner);
  if (!lc) return {};
  const value = xmlUnescape((lc[1] ?? "").trim());
  return value === "" ? {} : { LocationConstraint: value };
}
