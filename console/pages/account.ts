/** Who the console signs as: the identity, the Region, and switching accounts through AssumeRole. */
import { sts, xmlText } from "../aws.ts";
import { h, time } from "../dom.ts";
import { saveSession } from "../session.ts";
import type { Page } from "../page.ts";

export const accountPage: Page = {
  title: "Account and Region",
  pollMs: 0,
  controls(ctx) {
    const s = ctx.session;
    const role = h("input", { id: "role-arn", type: "text", size: 60, placeholder: "arn:aws:iam::111122223333:role/Auditor", "aria-label": "Role ARN", required: true });
    const name = h("input", { id: "role-session", type: "text", value: "console", "aria-label": "Session name" });
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
          onsubmit: async (e: Event) => {
            e.preventDefault();
            try {
              const r = await sts({ creds: s.base, region: s.region }, "AssumeRole", { RoleArn: role.value.trim(), RoleSessionName: name.value || "console" });
              s.assumed = {
                roleArn: role.value.trim(),
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
    );
  },
  async load(ctx) {
    const r = await sts(ctx.target, "GetCallerIdentity");
    return { arn: xmlText(r, "Arn"), account: xmlText(r, "Account"), userId: xmlText(r, "UserId"), region: ctx.target.region };
  },
  view(data) {
    const d = data as { arn: string; account: string; userId: string; region: string };
    return h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Identity"),
      h("dd", { id: "identity-arn" }, h("code", {}, d.arn)),
      h("dt", {}, "Account"),
      h("dd", {}, d.account),
      h("dt", {}, "User id"),
      h("dd", {}, d.userId),
      h("dt", {}, "Region"),
      h("dd", {}, d.region, " (switch it in the header)"),
    );
  },
};
