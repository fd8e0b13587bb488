/**
 * Moving an organization from consolidated billing to all features, as handshakes
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_EnableAllFeatures.html and
 * the Action member of
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_Handshake.html):
 * EnableAllFeatures opens the request (an ENABLE_ALL_FEATURES handshake of the organization) and
 * sends every invited member account an ENABLE_ALL_FEATURES handshake of its own to approve; once
 * all have approved, the management account gets the APPROVE_ALL_FEATURES final confirmation,
 * and accepting it enables all features. Accounts made by CreateAccount need not approve.
 * docs/organizations.md, "All features".
 */
import type { RequestContext } from "../../kernel/context.ts";
import { handshakeArn, newHandshakeId, type HandshakeAction, type HandshakeRec, type OrgRec } from "./model.ts";

/** How long each all-features handshake stays open (localfargate's choice, docs/organizations.md). */
export const ALL_FEATURES_EXPIRY_MS = 90 * 86_400_000;

export const isOpen = (h: HandshakeRec, now: Date) => h.state === "OPEN" && now.getTime() < h.expiresAt;
const isRequest = (h: HandshakeRec) => h.action === "ENABLE_ALL_FEATURES" && h.parentId === undefined;

/** The organization's EnableAllFeatures request still open, if any. */
export function pendingAllFeatures(org: OrgRec, now: Date): HandshakeRec | undefined {
  return org.handshakes.find((h) => isRequest(h) && isOpen(h, now));
}

function handshake(ctx: RequestContext, org: OrgRec, action: HandshakeAction, targetAccountId: string, parentId?: string): HandshakeRec {
  const id = newHandshakeId();
  const now = ctx.now.getTime();
  const h: HandshakeRec = {
    id,
    arn: handshakeArn(org, id, action),
    action,
    ...(parentId ? { parentId } : {}),
    targetAccountId,
    state: "OPEN",
    requestedAt: now,
    expiresAt: now + ALL_FEATURES_EXPIRY_MS,
  };
  org.handshakes.push(h);
  return h;
}

/** The accounts that must approve: the invited members still active. */
const approvers = (org: OrgRec) => org.accounts.filter((a) => a.joinedMethod === "INVITED" && a.closedAt === undefined && a.id !== org.managementAccountId);

/** Opens the request and sends its approvals (or, with none to wait for, the final confirmation). */
export function startAllFeatures(ctx: RequestContext, org: OrgRec): HandshakeRec {
  const request = handshake(ctx, org, "ENABLE_ALL_FEATURES", org.managementAccountId);
  for (const a of approvers(org)) handshake(ctx, org, "ENABLE_ALL_FEATURES", a.id, request.id);
  requestConfirmationWhenApproved(ctx, org, request);
  return request;
}

/**
 * Keeps a pending request in step with the organization's members: an account invited earlier
 * that joins while it is pending is asked to approve too, and one that leaves no longer holds it up.
 */
export function membersChanged(ctx: RequestContext, org: OrgRec): void {
  const request = pendingAllFeatures(org, ctx.now);
  if (!request) return;
  const asked = new Set(org.handshakes.filter((h) => h.parentId === request.id).map((h) => h.targetAccountId));
  for (const a of approvers(org)) if (!asked.has(a.id)) handshake(ctx, org, "ENABLE_ALL_FEATURES", a.id, request.id);
  requestConfirmationWhenApproved(ctx, org, request);
}

/** Once every approver has accepted, the management account gets the final confirmation. */
export function requestConfirmationWhenApproved(ctx: RequestContext, org: OrgRec, request: HandshakeRec): void {
  const children = org.handshakes.filter((h) => h.parentId === request.id);
  if (children.some((h) => h.action === "APPROVE_ALL_FEATURES")) return;
  const accepted = new Set(children.filter((h) => h.state === "ACCEPTED").map((h) => h.targetAccountId));
  if (approvers(org).every((a) => accepted.has(a.id))) handshake(ctx, org, "APPROVE_ALL_FEATURES", org.managementAccountId, request.id);
}

/** Ends a request: the request takes `state`, its handshakes still open are canceled. */
export function endAllFeatures(org: OrgRec, request: HandshakeRec, state: "ACCEPTED" | "DECLINED" | "CANCELED", now: Date): void {
  request.state = state;
  for (const h of org.handshakes) if (h.parentId === request.id && isOpen(h, now)) h.state = "CANCELED";
}

/** The request a handshake belongs to (itself for the request). */
export function requestOf(org: OrgRec, h: HandshakeRec): HandshakeRec | undefined {
  if (isRequest(h)) return h;
  return h.parentId ? org.handshakes.find((x) => x.id === h.parentId) : undefined;
}
