/**
 * Who the console signs as: the identity, the Region, and switching accounts through AssumeRole,
 * to a role ARN typed in or to an account of the signed-in identity's organization.
 */
import { all, sts, xmlText, type CallTarget } from "../aws.ts";
import { h, table, time } from "../dom.ts";
import { saveSession } from "../session.ts";
import type { Ctx, Page } from "../page.ts";

/** The role AWS Organizations creates in the accounts it creates (docs/organizations.md). */
const ORG_ROLE = "OrganizationAccountAccessRole";
/** Organizations is a global service; its endpoint signs in us-east-1. */
const ORG_REGION = "us-east-1";

interface OrgAccount {
  Id: string;
  Name?: string;
  Email?: string;
  Status?: string;
  State?: string;
}

interface AccountData {
  arn: string;
  account: string;
  userId: string;
  region: string;
  /** the account the signed-in key pair belongs to */
  baseAccount: string;
  /** the organization's accounts, or why they cannot be listed */
  org: { accounts: OrgAccount[] } | { code: string; message: string };
}

const sessionName = (): string => (document.getElementById("role-session") as HTMLInputElement | null)?.value.trim() || "console";

/** AssumeRole with the signed-in identity's keys; calls are then signed with the role's credentials. */
async function assume(ctx: Ctx, roleArn: string): Promise<void> {
  const s = ctx.session;
  try {
    const r = await sts({ creds: s.base, region: s.region }, "AssumeRole", { RoleArn: roleArn, RoleSessionName: sessionName() });
    s.assumed = {
      roleArn,
      accessKeyId: xmlText(r, "AccessKeyId"),
      secretAccessKey: xmlText(r, "SecretAccessKey"),
      sessionToken: xmlText(r, "SessionToken"),
      expiration: xmlText(r, "Expiration"),
    };
    saveSession(s);
    ctx.notify(`Now working as ${xmlText(r, "Arn")}.`, "ok");
    ctx.reloadIdentity();
    ctx.go("/account");
  } catch (err) {
    const x = err as { code?: string; message?: string };
    ctx.notify(`${x.code ?? "Error"}: ${x.message ?? String(err)}`, "error");
  }
}

/** The organization's accounts as the signed-in identity (not an assumed role) may list them. */
async function organizationAccounts(base: CallTarget): Promise<AccountData["org"]> {
  try {
    return { accounts: await all<OrgAccount>({ creds: base.creds, region: ORG_REGION }, "organizations", "ListAccounts", {}, "Accounts") };
  } catch (e) {
    const x = e as { code?: string; message?: string };
    return { code: x.code ?? "Error", message: x.message ?? String(e) };
  }
}

function orgSection(d: AccountData, ctx: Ctx): Node {
  if ("code" in d.org) {
    const denied = /AccessDenied/.test(d.org.code);
    return h(
      "p",
      { class: denied ? "error denied" : "error", id: "org-accounts-error" },
      `The signed-in identity cannot list its organization's accounts: ${d.org.code}: ${d.org.message}`,
    );
  }
  const roleName = () => (document.getElementById("org-role-name") as HTMLInputElement | null)?.value.trim() || ORG_ROLE;
  return table(
    ["Account", "Name", "Email", "State", ""],
    d.org.accounts.map((a) => [
      h("code", {}, a.Id),
      a.Name ?? "—",
      a.Email ?? "—",
      a.State ?? a.Status ?? "—",
      a.Id === d.baseAccount
        ? "the signed-in account"
        : a.State === "CLOSED" || a.Status === "SUSPENDED"
          ? // a closed account's roles cannot be assumed (docs/organizations.md#closing-an-account)
            h("span", { class: "muted", id: `closed-${a.Id}` }, "closed: its roles cannot be assumed")
          : h(
              "button",
              { id: `switch-${a.Id}`, class: "switch-account", "data-account": a.Id, onclick: () => void assume(ctx, `arn:aws:iam::${a.Id}:role/${roleName()}`) },
              `Switch to ${a.Id}`,
            ),
    ]),
    "Organization accounts",
  );
}

export const accountPage: Page = {
  title: "Account and Region",
  pollMs: 0,
  controls(ctx) {
    const s = ctx.session;
    const role = h("input", { id: "role-arn", type: "text", size: 60, placeholder: "arn:aws:iam::111122223333:role/Auditor", "aria-label": "Role ARN", required: true });
    const name = h("input", { id: "role-session", type: "text", value: "console", "aria-label": "Session name" });
    const orgRole = h("input", { id: "org-role-name", type: "text", size: 32, value: ORG_ROLE, "aria-label": "Role name in the organization's accounts" });
    return h(
      "div",
      {},
      h("h2", {}, "Switch account"),
      h(
        "p",
        { class: "muted" },
        "Assume a role in another account (its trust policy must allow the signed-in identity). Calls are then signed with the role's temporary credentials.",
      ),
      h(
        "form",
        {
          class: "inline-form",
          onsubmit: (e: Event) => {
            e.preventDefault();
            void assume(ctx, role.value.trim());
          },
        },
        h("label", { for: "role-arn" }, "Role ARN"),
        role,
        h("label", { for: "role-session" }, "Session name"),
        name,
        h("button", { type: "submit", id: "assume-role" }, "Switch"),
      ),
      s.assumed
        ? h(
            "p",
            {},
            `Working as ${s.assumed.roleArn} until ${time(s.assumed.expiration)}. `,
            h(
              "button",
              {
                id: "back-to-base",
                onclick: () => {
                  delete s.assumed;
                  saveSession(s);
                  ctx.reloadIdentity();
                  ctx.go("/account");
                },
              },
              "Back to the signed-in identity",
            ),
          )
        : null,
      h(
        "p",
        { class: "inline-form" },
        h("label", { for: "org-role-name" }, "Role to assume in an organization account"),
        orgRole,
        h("span", { class: "muted" }, "(the accounts are listed below when the signed-in identity may call Organizations ListAccounts)"),
      ),
    );
  },
  async load(ctx) {
    const base: CallTarget = { creds: ctx.session.base, region: ctx.target.region };
    const [r, baseAccount, org] = await Promise.all([
      sts(ctx.target, "GetCallerIdentity"),
      ctx.session.assumed ? sts(base, "GetCallerIdentity").then((b) => xmlText(b, "Account")) : undefined,
      organizationAccounts(base),
    ]);
    const account = xmlText(r, "Account");
    return { arn: xmlText(r, "Arn"), account, userId: xmlText(r, "UserId"), region: ctx.target.region, baseAccount: baseAccount ?? account, org } satisfies AccountData;
  },
  view(data, ctx) {
    const d = data as AccountData;
    return h(
      "div",
      {},
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Identity"),
        h("dd", { id: "identity-arn" }, h("code", {}, d.arn)),
        h("dt", {}, "Account"),
        h("dd", { id: "identity-account" }, d.account),
        h("dt", {}, "User id"),
        h("dd", {}, d.userId),
        h("dt", {}, "Region"),
        h("dd", {}, d.region, " (switch it in the header)"),
      ),
      h("h2", {}, "Organization"),
      orgSection(d, ctx),
    );
  },
};
