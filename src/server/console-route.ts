/**
 * `GET /_localfargate/console`: the web console (docs/console.md), three static files that
 * scripts/build.mjs bundles into dist/console/. The page makes ordinary SigV4-signed AWS calls
 * from the browser; this route only hands out its files. It is matched by its prefix before
 * any API routing, so API clients never reach it.
 *
 * The browser guard has already run: a page elsewhere cannot load these files, and the answer
 * forbids framing and any script, style or connection that is not this server's own.
 */
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CONSOLE_PATH = "/_localfargate/console";

/** The only files served, by their name under the prefix ("" is the page itself). */
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "": { file: "index.html", type: "text/html; charset=utf-8" },
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** dist/console/ beside the bundle (dist/cli.mjs), or under the checkout when running from src/. */
function consoleDir(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  return basename(here) === "dist" ? join(here, "console") : join(here, "..", "..", "dist", "console");
}

export function isConsolePath(path: string): boolean {
  return path === CONSOLE_PATH || path.startsWith(CONSOLE_PATH + "/");
}

export interface ConsoleReply {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  body: Buffer;
}

const text = (status: number, message: string, extra: Record<string, string> = {}): ConsoleReply => ({
  status,
  contentType: "application/json",
  headers: { ...SECURITY_HEADERS, ...extra },
  body: Buffer.from(JSON.stringify({ __type: status === 405 ? "MethodNotAllowed" : "NotFound", message })),
});

/** The front door writes no body for HEAD. */
export async function handleConsole(method: string, path: string): Promise<ConsoleReply> {
  if (method !== "GET" && method !== "HEAD") return text(405, "Use GET.", { allow: "GET, HEAD" });
  const entry = Object.hasOwn(FILES, path.slice(CONSOLE_PATH.length)) ? FILES[path.slice(CONSOLE_PATH.length)] : undefined;
  if (!entry) return text(404, `No console file at ${path}`);
  let body: Buffer;
  try {
    body = await readFile(join(consoleDir(), entry.file));
  } catch {
    return text(404, "The console is not built: run `npm run build` (docs/console.md).");
  }
  return { status: 200, contentType: entry.type, headers: { ...SECURITY_HEADERS }, body };
}
