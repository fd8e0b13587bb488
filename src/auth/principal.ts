/** The principals localfargate knows without IAM: account roots and AWS service principals. */
import type { Principal } from "../kernel/principal.ts";

export const DEFAULT_ACCOUNT_ID = "000000000000";

export function rootPrincipal(accountId: string, accessKeyId?: string): Principal {
  return { type: "Root", accountId, arn: `arn:aws:iam::${accountId}:root`, principalId: accountId, accessKeyId };
}

/** A principal for calls AWS services make themselves (e.g. Fargate → KMS). */
export function servicePrincipal(serviceName: string, accountId: string, invokedBy = serviceName): Principal {
  return { type: "AWSService", accountId, arn: serviceName, principalId: serviceName, invokedBy };
}

/** The caller of an unsigned call (STS federation): no account, no identity policies. */
export function anonymousPrincipal(): Principal {
  return { type: "Anonymous", accountId: "", arn: "anonymous", principalId: "anonymous" };
}

/** aws:PrincipalType values */
export function principalTypeKey(p: Principal): string {
  switch (p.type) {
    case "Root":
      return "Account";
    case "IAMUser":
      return "User";
    case "AssumedRole":
      return "AssumedRole";
    case "AWSService":
      return "Service";
    case "FederatedUser":
      return "FederatedUser";
    case "Anonymous":
      return "Anonymous";
  }
}
