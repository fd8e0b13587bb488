/**
 * Headers for everything the port answers except the console (docs/security.md, "Content on the console origin").
 * The console is served from the same origin (http://127.0.0.1:4566) as S3 objects, task output
 * and every API answer, whose bytes a user or a task chose. A stored HTML or SVG object opened in
 * a browser would otherwise run its script with the console's origin, and so with the console's
 * signed-in keys. `Content-Security-Policy: sandbox` makes the browser treat such a response as
 * a document of its own, unique origin with scripts, forms, popups and plugins off
 * (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy/sandbox);
 * `X-Content-Type-Options: nosniff` keeps a browser from reading a text/plain or JSON answer as
 * HTML or script. API clients (the SDKs, the CLI) ignore both.
 */
import type { HttpReply } from "./http1.ts";

export const USER_CONTENT_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "sandbox",
  "x-content-type-options": "nosniff",
};

/** The reply with the user-content headers, replacing any value a handler (or a stored object) gave them. */
export function withUserContentHeaders(r: HttpReply): HttpReply {
  const headers: string[] = [];
  for (let i = 0; i < r.headers.length; i += 2) {
    if (Object.hasOwn(USER_CONTENT_HEADERS, r.headers[i].toLowerCase())) continue;
    headers.push(r.headers[i], r.headers[i + 1]);
  }
  for (const [k, v] of Object.entries(USER_CONTENT_HEADERS)) headers.push(k, v);
  return { ...r, headers };
}
