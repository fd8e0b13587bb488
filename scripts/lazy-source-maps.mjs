/**
 * Stack traces that name the src/ files and lines of a bundle, without reading its source map at
 * every start. Node's own support (`process.setSourceMapsEnabled(true)`) reads, parses and keeps
 * the map of dist/cli.mjs (about 1 MB) while the bundle loads, which cost the start about 10 ms
 * and its idle memory about 5 MB (docs/performance.md#start-up); this reads the map the first
 * time a stack trace is formatted, and maps the bundle's frames as node would.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

/** What V8 prints before the frames: `Name: message`. */
function header(error) {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return "Error";
  }
}

export function mapStackTracesLazily(bundleUrl) {
  const bundleFile = fileURLToPath(bundleUrl);
  const mapUrl = `${bundleUrl}.map`;
  /** undefined: not read yet; null: missing or unreadable (frames stay as they are) */
  let map;
  const originalOf = (line, column) => {
    if (map === undefined) {
      try {
        const payload = JSON.parse(readFileSync(fileURLToPath(mapUrl), "utf8"));
        payload.sources = payload.sources.map((s) => new URL(s, mapUrl).href);
        map = new SourceMap(payload);
      } catch {
        map = null;
      }
    }
    const entry = map?.findEntry(line - 1, column - 1);
    return entry?.originalSource ? `${fileURLToPath(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}` : undefined;
  };
  const frame = (callSite) => {
    const text = callSite.toString();
    const file = callSite.getFileName();
    if (file !== bundleUrl && file !== bundleFile) return text;
    const line = callSite.getLineNumber();
    const column = callSite.getColumnNumber();
    const original = line && column ? originalOf(line, column) : undefined;
    return original ? text.replace(`${file}:${line}:${column}`, original) : text;
  };
  Error.prepareStackTrace = (error, callSites) => [header(error), ...callSites.map((c) => `    at ${frame(c)}`)].join("\n");
}
