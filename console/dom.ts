/** A tiny element builder: h("button", { onclick }, "Disable"). Text is always set as text, never parsed as HTML. */
type Child = Node | string | number | false | null | undefined | Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/** An AWS timestamp (epoch seconds in JSON) or ISO string as a readable UTC time. */
export function time(v: unknown): string {
  if (v === undefined || v === null || v === "") return "—";
  const d = typeof v === "number" ? new Date(v * 1000) : new Date(String(v));
  return Number.isNaN(d.getTime())
    ? String(v)
    : d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d{3}Z$/, "Z");
}

export function table(headers: string[], rows: Child[][], caption?: string): HTMLTableElement {
  return h(
    "table",
    {},
    caption ? h("caption", {}, caption) : null,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.length
        ? rows.map((r) =>
            h(
              "tr",
              {},
              r.map((c) => h("td", {}, c)),
            ),
          )
        : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "None")),
    ),
  );
}

export function badge(text: string, kind = text.toLowerCase()): HTMLElement {
  return h("span", { class: `badge badge-${kind.replace(/[^a-z0-9-]/g, "")}` }, text);
}

/** A route link inside the console. */
export function link(route: string, text: Child): HTMLAnchorElement {
  return h("a", { href: `#${route}` }, text);
}

/** The last ARN part after '/' (a task or cluster name). */
export const lastPart = (arn: string): string => arn.slice(arn.lastIndexOf("/") + 1);
