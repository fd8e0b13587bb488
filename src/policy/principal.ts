/**
 * The Principal / NotPrincipal elements of resource-based policies (key policies, trust
 * policies, bucket policies).
 *
 * Accepted forms: `"*"`; `{"AWS": …}` with `"*"`, a 12-digit account id, `arn:aws:iam::A:root`,
 * user / role ARNs (`arn:aws:iam::A:user/…`, `…:role/…`), assumed-role session ARNs
 * (`arn:aws:sts::A:assumed-role/R/S`), federated-user ARNs (`arn:aws:sts::A:federated-user/N`) or
 * unique ids (`AIDA…`/`AROA…`, what AWS shows once a named principal was deleted: they match no
 * caller); `{"Service": …}`; `{"Federated": …}`; `{"CanonicalUser": …}`. Partial wildcards are
 * rejected, as IAM does ("Invalid principal in policy").
 *
 * Matching (see PrincipalMatch): `"*"` and `{"AWS":"*"}` (equivalent per AWS's docs) match every
 * caller, anonymous and AWS service principals included. A service principal is matched by
 * `{"Service": name}` and by nothing else that names an account or ARN. An account id / root ARN
 * matches the account's root user directly and any other principal of the account as "account".
 * A role ARN matches the role's sessions as "role". A Federated principal matches the anonymous
 * caller of web identity or SAML federation whose identity provider it names; CanonicalUser
 * principals are accepted but match no caller.
 *
 * NotPrincipal excludes a caller only when every identity AWS may check for it is listed: the
 * account (id or root ARN) and the user, or the account, the role and the session (the
 * conservative reading of AWS's NotPrincipal page, which tells authors to list all of them).
 */
import { PolicyError, type PrincipalMatch, type RequestPrincipal } from "./types.ts";

export interface PrincipalSpec {
  /** "*" or {"AWS":"*"} */
  readonly any: boolean;
  readonly accounts: ReadonlySet<string>;
  readonly arns: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
  readonly federated: ReadonlySet<string>;
}

const AWS_ARN = /^arn:aws(?:-[a-z]+)*:(iam|sts)::(\d{12}):(.+)$/;
const UNIQUE_ID = /^A[A-Z0-9]{15,127}$/;

function invalid(type: string, value: unknown): PolicyError {
  return new PolicyError(`Invalid principal in policy: ${JSON.stringify(type)}:${JSON.stringify(value)}`);
}

function values(type: string, v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) throw invalid(type, v);
  for (const x of list) if (typeof x !== "string" || x === "") throw invalid(type, x);
  return list as string[];
}

export function parsePrincipal(v: unknown): PrincipalSpec {
  const accounts = new Set<string>();
  const arns = new Set<string>();
  const services = new Set<string>();
  const federated = new Set<string>();
  let any = false;
  if (v === "*") return { any: true, accounts, arns, services, federated };
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new PolicyError(`Invalid principal in policy: ${JSON.stringify(v)}`);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) throw new PolicyError("Invalid principal in policy: {}");
  for (const [type, raw] of entries) {
    const list = values(type, raw);
    switch (type) {
      case "AWS":
        for (const p of list) {
          if (p === "*") {
            any = true;
            continue;
          }
          if (/^\d{12}$/.test(p)) {
            accounts.add(p);
            continue;
          }
          if (UNIQUE_ID.test(p)) continue; // a deleted principal's unique id: matches no caller
          const m = AWS_ARN.exec(p);
          if (!m || p.includes("*") || p.includes("?")) throw invalid(type, p);
          const [, service, account, rest] = m;
          if (service === "iam" && rest === "root") accounts.add(account);
          else if (service === "iam" && /^(user|role)\/./.test(rest)) arns.add(p);
          else if (service === "sts" && /^(assumed-role\/[^/]+\/.|federated-user\/.)/.test(rest)) arns.add(p);
          else throw invalid(type, p);
        }
        break;
      case "Service":
        for (const s of list) {
          if (!/^[a-zA-Z0-9.-]+$/.test(s)) throw invalid(type, s);
          services.add(s.toLowerCase());
        }
        break;
      case "Federated":
        for (const f of list) {
          if (f.includes("*")) throw invalid(type, f);
          federated.add(f);
        }
        break;
      case "CanonicalUser":
        for (const c of list) if (c.includes("*")) throw invalid(type, c);
        break;
      default:
        throw new PolicyError(`Invalid principal in policy: unknown principal type ${JSON.stringify(type)}`);
    }
  }
  return { any, accounts, arns, services, federated };
}

/** How a Principal element matches the caller. */
export function matchPrincipalSpec(spec: PrincipalSpec, p: RequestPrincipal): PrincipalMatch {
  if (spec.any) return "direct";
  switch (p.type) {
    case "AWSService":
      return spec.services.has((p.serviceName ?? p.arn).toLowerCase()) ? "direct" : "none";
    case "Anonymous":
      return p.federatedProvider !== undefined && spec.federated.has(p.federatedProvider) ? "direct" : "none";
    case "Root":
      return spec.accounts.has(p.accountId) || spec.arns.has(p.arn) ? "direct" : "none";
  }
  if (spec.arns.has(p.arn)) return "direct";
  if (p.roleArn !== undefined && spec.arns.has(p.roleArn)) return "role";
  if (spec.accounts.has(p.accountId)) return "account";
  return "none";
}

/** NotPrincipal: true when the caller is excluded (every identity of its chain is listed). */
export function excludedByNotPrincipal(spec: PrincipalSpec, p: RequestPrincipal): boolean {
  if (spec.any) return true;
  switch (p.type) {
    case "AWSService":
      return spec.services.has((p.serviceName ?? p.arn).toLowerCase());
    case "Anonymous":
      return p.federatedProvider !== undefined && spec.federated.has(p.federatedProvider);
    case "Root":
      return spec.accounts.has(p.accountId);
    case "AssumedRole":
      return spec.accounts.has(p.accountId) && spec.arns.has(p.arn) && p.roleArn !== undefined && spec.arns.has(p.roleArn);
    default:
      return spec.accounts.has(p.accountId) && spec.arns.has(p.arn);
  }
}
