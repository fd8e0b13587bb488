/**
 * Invitations: the management account invites an account that already exists here (by its id);
 * the invited account accepts or declines, the management account may cancel; an open
 * invitation expires after 15 days on the service clock
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_invites.html).
 * EnableAllFeatures and the answers to its handshakes (all-features.ts).
 */
import type * as O from "@aws-sdk/client-organizations";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import { handshakeView, managedOrg, orgCheck, page, readableOrg, type OrgDeps } from "./common.ts";
import { endAllFeatures, membersChanged, pendingAllFeatures, requestConfirmationWhenApproved, requestOf, startAllFeatures } from "./all-features.ts";
import { handshakeNotFound, invalidInput, notManagement, orgError } from "./errors.ts";
import { accountArn, handshakeArn, newHandshakeId, type HandshakeRec, type OrgRec } from "./model.ts";
import type { OrganizationsState } from "./state.ts";
import { attachDefaults } from "./structure.ts";
import { checkOrgTags, setTags } from "./tag-operations.ts";
import { MAX_ACCOUNTS } from "./structure-operations.ts";

const DAY_MS = 86_400_000;
const EXPIRY_MS = 15 * DAY_MS;

type HandshakeOperation =
  | "EnableAllFeatures"
  | "InviteAccountToOrganization"
  | "AcceptHandshake"
  | "DeclineHandshake"
  | "CancelHandshake"
  | "DescribeHandshake"
  | "ListHandshakesForAccount"
  | "ListHandshakesForOrganization";

interface Found {
  org: OrgRec;
  h: HandshakeRec;
}

/** A handshake the caller is a party to: its organization's management account or the invited account. */
function findHandshake(ctx: RequestContext, state: OrganizationsState, id: string): Found {
  const me = ctx.principal.accountId;
  for (const org of state.byId.values()) {
    const h = org.handshakes.find((x) => x.id === id);
    if (h && (h.targetAccountId === me || org.managementAccountId === me)) return { org, h };
  }
  throw handshakeNotFound();
}

function effectiveState(h: HandshakeRec, now: Date): HandshakeRec["state"] {
  return h.state === "OPEN" && now.getTime() >= h.expiresAt ? "EXPIRED" : h.state;
}

const transition = () => orgError("InvalidHandshakeTransitionException", "You can't perform the operation on the handshake in its current state.");

function requireOpen(h: HandshakeRec, now: Date, wanted: HandshakeRec["state"]): void {
  const current = effectiveState(h, now);
  if (current === wanted) throw orgError("HandshakeAlreadyInStateException", "The specified handshake is already in the requested state.");
  if (current !== "OPEN") throw transition();
}

/**
 * The handshake's ARN names the inviting organization's management account; the invited account
 * acts on the invitation addressed to it with its own permissions, so its check names no
 * other account's resource.
 */
const arnOf = (ctx: RequestContext, f: Found) => (f.org.managementAccountId === ctx.principal.accountId ? f.h.arn : "*");

export function handshakeOperations({ state }: OrgDeps): OperationTable<Extract<OrganizationsOperation, HandshakeOperation>> {
  return {
    EnableAllFeatures: defineOperation<object, O.EnableAllFeaturesResponse, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, _i, org) => orgCheck("EnableAllFeatures", org.arn),
      handler: function enableAllFeatures(ctx, _i, org) {
        if (org.featureSet === "ALL") {
          throw orgError("HandshakeConstraintViolationException", "The organization already has all features enabled.", "ORGANIZATION_ALREADY_HAS_ALL_FEATURES");
        }
        if (pendingAllFeatures(org, ctx.now)) {
          throw orgError(
            "HandshakeConstraintViolationException",
            "The organization has already started enabling all features.",
            "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
          );
        }
        const request = startAllFeatures(ctx, org);
        state.save(ctx, org);
        return { Handshake: handshakeView(org, request, ctx.now) };
      },
    }),

    InviteAccountToOrganization: defineOperation<O.InviteAccountToOrganizationRequest, O.InviteAccountToOrganizationResponse, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: () => orgCheck("InviteAccountToOrganization"),
      handler: function inviteAccountToOrganization(ctx, i, org) {
        const t = i.Target!;
        checkOrgTags(i.Tags);
        if (t.Type !== "ACCOUNT" || !/^\d{12}$/.test(t.Id ?? "")) {
          throw invalidInput("INVALID_PARTY_TYPE_TARGET", "You specified the wrong type for the invitation target: invite an account by its 12-digit account ID.");
        }
        if (state.accountIn(org, t.Id!)) throw orgError("DuplicateAccountException", "That account is already present in the specified destination.");
        if (state.orgOf(t.Id!)) throw orgError("HandshakeConstraintViolationException", "The account is already a member of an organization.", "ALREADY_IN_AN_ORGANIZATION");
        if (pendingAllFeatures(org, ctx.now)) {
          throw orgError(
            "HandshakeConstraintViolationException",
            "You can't invite accounts while the organization is enabling all features.",
            "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
          );
        }
        if (org.handshakes.some((h) => (h.action ?? "INVITE") === "INVITE" && h.targetAccountId === t.Id && effectiveState(h, ctx.now) === "OPEN")) {
          throw orgError("DuplicateHandshakeException", "A handshake with the same action and target already exists.");
        }
        if (org.accounts.length >= MAX_ACCOUNTS) {
          throw orgError("HandshakeConstraintViolationException", "You have reached the limit on the number of accounts in your organization.", "ACCOUNT_NUMBER_LIMIT_EXCEEDED");
        }
        const id = newHandshakeId();
        const h: HandshakeRec = {
          id,
          arn: handshakeArn(org, id),
          targetAccountId: t.Id!,
          state: "OPEN",
          requestedAt: ctx.now.getTime(),
          expiresAt: ctx.now.getTime() + EXPIRY_MS,
          ...(i.Notes ? { notes: i.Notes } : {}),
          ...(i.Tags?.length ? { tags: i.Tags } : {}),
        };
        org.handshakes.push(h);
        state.save(ctx, org);
        return { Handshake: handshakeView(org, h, ctx.now) };
      },
    }),

    AcceptHandshake: defineOperation<O.AcceptHandshakeRequest, O.AcceptHandshakeResponse, Found>({
      resolve: (ctx, i) => findHandshake(ctx, state, i.HandshakeId!),
      authorize: (ctx, _i, f) => orgCheck("AcceptHandshake", arnOf(ctx, f)),
      handler: function acceptHandshake(ctx, _i, { org, h }) {
        const me = ctx.principal.accountId;
        if (h.targetAccountId !== me) throw notManagement();
        const request = requestOf(org, h);
        // the EnableAllFeatures request is answered through its own handshakes, never directly
        if (request === h) throw transition();
        requireOpen(h, ctx.now, "ACCEPTED");
        if (request) {
          // an account removed from the organization since no longer answers for it
          if (!state.accountIn(org, me)) throw transition();
          h.state = "ACCEPTED";
          if (h.action === "APPROVE_ALL_FEATURES") {
            org.featureSet = "ALL";
            endAllFeatures(org, request, "ACCEPTED", ctx.now);
          } else {
            requestConfirmationWhenApproved(ctx, org, request);
          }
          state.save(ctx, org);
          return { Handshake: handshakeView(org, h, ctx.now) };
        }
        if (state.orgOf(me)) throw orgError("HandshakeConstraintViolationException", "The account is already a member of an organization.", "ALREADY_IN_AN_ORGANIZATION");
        h.state = "ACCEPTED";
        org.accounts.push({
          id: me,
          arn: accountArn(org, me),
          name: `Account ${me}`,
          email: `${me}@example.com`,
          parentId: org.root.id,
          joinedMethod: "INVITED",
          joinedAt: ctx.now.getTime(),
        });
        attachDefaults(org, me);
        if (h.tags) setTags(org, me, h.tags);
        membersChanged(ctx, org);
        state.save(ctx, org);
        return { Handshake: handshakeView(org, h, ctx.now) };
      },
    }),

    DeclineHandshake: defineOperation<O.DeclineHandshakeRequest, O.DeclineHandshakeResponse, Found>({
      resolve: (ctx, i) => findHandshake(ctx, state, i.HandshakeId!),
      authorize: (ctx, _i, f) => orgCheck("DeclineHandshake", arnOf(ctx, f)),
      handler: function declineHandshake(ctx, _i, { org, h }) {
        if (h.targetAccountId !== ctx.principal.accountId) throw notManagement();
        const request = requestOf(org, h);
        if (request === h) throw transition();
        requireOpen(h, ctx.now, "DECLINED");
        h.state = "DECLINED";
        // one refusal ends the whole EnableAllFeatures request
        if (request) endAllFeatures(org, request, "DECLINED", ctx.now);
        state.save(ctx, org);
        return { Handshake: handshakeView(org, h, ctx.now) };
      },
    }),

    CancelHandshake: defineOperation<O.CancelHandshakeRequest, O.CancelHandshakeResponse, Found>({
      resolve: (ctx, i) => findHandshake(ctx, state, i.HandshakeId!),
      authorize: (ctx, _i, f) => orgCheck("CancelHandshake", arnOf(ctx, f)),
      handler: function cancelHandshake(ctx, _i, { org, h }) {
        if (org.managementAccountId !== ctx.principal.accountId) throw notManagement();
        requireOpen(h, ctx.now, "CANCELED");
        h.state = "CANCELED";
        // canceling any of its handshakes cancels the whole EnableAllFeatures request
        const request = requestOf(org, h);
        if (request) endAllFeatures(org, request, "CANCELED", ctx.now);
        state.save(ctx, org);
        return { Handshake: handshakeView(org, h, ctx.now) };
      },
    }),

    DescribeHandshake: defineOperation<O.DescribeHandshakeRequest, O.DescribeHandshakeResponse, Found>({
      readOnly: true,
      resolve: (ctx, i) => findHandshake(ctx, state, i.HandshakeId!),
      authorize: (ctx, _i, f) => orgCheck("DescribeHandshake", arnOf(ctx, f)),
      handler: function describeHandshake(ctx, _i, { org, h }) {
        return { Handshake: handshakeView(org, h, ctx.now) };
      },
    }),

    ListHandshakesForAccount: defineOperation<O.ListHandshakesForAccountRequest, O.ListHandshakesForAccountResponse>({
      readOnly: true,
      authorize: () => orgCheck("ListHandshakesForAccount"),
      handler: function listHandshakesForAccount(ctx, i) {
        const me = ctx.principal.accountId;
        const mine: Found[] = [];
        for (const org of state.byId.values()) for (const h of org.handshakes) if (h.targetAccountId === me) mine.push({ org, h });
        const p = page(
          mine.filter((f) => matchesFilter(f.h, i.Filter)),
          (f) => f.h.id,
          i.NextToken,
          i.MaxResults,
        );
        return { Handshakes: p.items.map((f) => handshakeView(f.org, f.h, ctx.now)), NextToken: p.NextToken };
      },
    }),

    ListHandshakesForOrganization: defineOperation<O.ListHandshakesForOrganizationRequest, O.ListHandshakesForOrganizationResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: () => orgCheck("ListHandshakesForOrganization"),
      handler: function listHandshakesForOrganization(ctx, i, org) {
        const p = page(
          org.handshakes.filter((h) => matchesFilter(h, i.Filter)),
          (h) => h.id,
          i.NextToken,
          i.MaxResults,
        );
        return { Handshakes: p.items.map((h) => handshakeView(org, h, ctx.now)), NextToken: p.NextToken };
      },
    }),
  };
}

function matchesFilter(h: HandshakeRec, filter: O.HandshakeFilter | undefined): boolean {
  if (filter?.ActionType !== undefined && filter.ActionType !== (h.action ?? "INVITE")) return false;
  return filter?.ParentHandshakeId === undefined || filter.ParentHandshakeId === h.parentId;
}
