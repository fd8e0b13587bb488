/** Who the console signs as, kept in sessionStorage (gone when the tab closes). */
import type { Credentials } from "./sigv4.ts";

export interface AssumedRole extends Credentials {
  roleArn: string;
  /** ISO time the role's credentials expire */
  expiration: string;
}

export interface Session {
  /** the key pair signed in with */
  base: Credentials;
  region: string;
  /** set while working in another account through AssumeRole */
  assumed?: AssumedRole;
}

const KEY = "localfargate.console.session";

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Session;
    return typeof s?.base?.accessKeyId === "string" && typeof s.region === "string" ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session | undefined): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** The credentials calls are signed with now. */
export function activeCredentials(s: Session): Credentials {
  return s.assumed ?? s.base;
}

export const REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ca-central-1",
  "eu-west-1",
  "eu-west-2",
  "eu-central-1",
  "eu-north-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-northeast-1",
  "ap-south-1",
  "sa-east-1",
];
