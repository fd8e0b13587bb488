/**
 * A CommonJS package required on first use rather than when the server starts: XML parsing and
 * signature checking serve a few S3 and SAML calls, and loading their packages at start cost
 * about 20 ms and 5 MB (docs/performance.md#start-up).
 */
import { createRequire } from "node:module";

const requirePackage = createRequire(import.meta.url);

export function lazyPackage<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requirePackage(name) as T);
}
