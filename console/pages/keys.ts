/** KMS: the Region's customer managed keys, and one key with its policy, grants and actions. */
import { all, json, type CallTarget, type Json } from "../aws.ts";
import { badge, h, link, table, time } from "../dom.ts";
import { act, type Ctx, type Page } from "../page.ts";

interface KeyMetadata {
  KeyId: string;
  Arn: string;
  KeyState: string;
  KeySpec?: string;
  KeyUsage?: string;
  KeyManager?: string;
  Description?: string;
  CreationDate?: number;
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  Enabled?: boolean;
}

interface KeyRow {
  meta: KeyMetadata;
  aliases: string[];
  rotation?: { enabled: boolean; next?: number; period?: number };
}

interface Alias {
  AliasName: string;
  TargetKeyId?: string;
}

async function describe(t: CallTarget, keyId: string, aliases: Alias[]): Promise<KeyRow> {
  const meta = ((await json(t, "kms", "DescribeKey", { KeyId: keyId })) as { KeyMetadata: KeyMetadata }).KeyMetadata;
  let rotation: KeyRow["rotation"];
  if (meta.KeyManager === "CUSTOMER" && meta.KeyState !== "PendingDeletion" && meta.KeySpec === "SYMMETRIC_DEFAULT") {
    try {
      const r = await json(t, "kms", "GetKeyRotationStatus", { KeyId: keyId });
      rotation = { enabled: Boolean(r.KeyRotationEnabled), next: r.NextRotationDate as number | undefined, period: r.RotationPeriodInDays as number | undefined };
    } catch {
      rotation = undefined; // a disabled key answers with its state: shown as such
    }
  }
  return { meta, aliases: aliases.filter((a) => a.TargetKeyId === meta.KeyId).map((a) => a.AliasName), rotation };
}

function rotationText(r: KeyRow["rotation"]): string {
  if (!r) return "—";
  return r.enabled ? `every ${r.period ?? 365} d, next ${time(r.next)}` : "off";
}

export const keysPage: Page = {
  title: "KMS keys",
  // a list costs two calls per key: polled less often than one key's page
  pollMs: 5000,
  async load(ctx) {
    const t = ctx.target;
    const [keys, aliases] = await Promise.all([
      all<{ KeyId: string }>(t, "kms", "ListKeys", {}, "Keys", "Marker", "NextMarker"),
      all<Alias>(t, "kms", "ListAliases", {}, "Aliases", "Marker", "NextMarker"),
    ]);
    return Promise.all(keys.map((k) => describe(t, k.KeyId, aliases)));
  },
  view(data) {
    const rows = (data as KeyRow[]).filter((r) => r.meta.KeyManager !== "AWS");
    return table(
      ["Key", "Aliases", "State", "Spec", "Rotation", "Deletion date"],
      rows.map((r) => [
        link(`/keys/${r.meta.KeyId}`, r.meta.KeyId),
        r.aliases.join(", ") || "—",
        badge(r.meta.KeyState),
        r.meta.KeySpec ?? "—",
        rotationText(r.rotation),
        time(r.meta.DeletionDate),
      ]),
      "Customer managed keys",
    );
  },
};

interface Statement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: unknown;
  Condition?: unknown;
}

/** A statement that lets Fargate use the key: an Allow naming fargate.amazonaws.com (or a Regional fargate principal). */
export function allowsFargate(s: Statement): boolean {
  if (s.Effect !== "Allow") return false;
  const services = (s.Principal as { Service?: unknown } | undefined)?.Service;
  const list = Array.isArray(services) ? services : [services];
  return list.some((p) => typeof p === "string" && /^fargate(\.[a-z0-9-]+)?\.amazonaws\.com$/.test(p));
}

function policyView(policy: string): Node {
  let doc: { Statement?: Statement | Statement[] } & Json;
  try {
    doc = JSON.parse(policy);
  } catch {
    return h("pre", { class: "json" }, policy);
  }
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  const head = { ...doc };
  delete head.Statement;
  return h(
    "div",
    { class: "policy" },
    h("pre", { class: "json" }, JSON.stringify(head, null, 2)),
    statements.map((s) =>
      h(
        "figure",
        { class: allowsFargate(s) ? "statement fargate" : "statement" },
        h("figcaption", {}, s.Sid ?? "(no Sid)", allowsFargate(s) ? badge("allows Fargate", "fargate") : null),
        h("pre", { class: "json" }, JSON.stringify(s, null, 2)),
      ),
    ),
  );
}

interface Grant {
  GrantId: string;
  Name?: string;
  GranteePrincipal?: string;
  RetiringPrincipal?: string;
  Operations?: string[];
  Constraints?: Json;
  CreationDate?: number;
}

export function grantsTable(grants: Grant[]): Node {
  return table(
    ["Grant", "Name", "Grantee", "Operations", "Constraints", "Retiring principal", "Created"],
    grants.map((g) => [
      h("code", {}, g.GrantId.slice(0, 16) + "…"),
      g.Name ? h("code", { class: "grant-name" }, g.Name) : "—",
      g.GranteePrincipal ?? "—",
      (g.Operations ?? []).join(", "),
      g.Constraints ? h("pre", { class: "json small" }, JSON.stringify(g.Constraints, null, 2)) : "—",
      g.RetiringPrincipal ?? "—",
      time(g.CreationDate),
    ]),
    "Grants",
  );
}

interface KeyDetail {
  row: KeyRow;
  policy?: string;
  grants: Grant[];
  problem?: string;
}

/** The waiting period typed for each key's deletion, kept across redraws. */
const deletionDays = new Map<string, string>();

function actions(ctx: Ctx, m: KeyMetadata): Node {
  const t = ctx.target;
  const id = m.KeyId;
  // what the user typed survives the live redraws of the page
  const days = h("input", {
    type: "number",
    id: "deletion-days",
    min: 7,
    max: 30,
    value: deletionDays.get(id) ?? "7",
    "aria-label": "Waiting period in days",
    oninput: (e: Event) => deletionDays.set(id, (e.target as HTMLInputElement).value),
  });
  const buttons: Node[] = [];
  if (m.KeyState === "Enabled")
    buttons.push(h("button", { id: "disable-key", onclick: () => act(ctx, `Key ${id} disabled.`, () => json(t, "kms", "DisableKey", { KeyId: id })) }, "Disable"));
  if (m.KeyState === "Disabled")
    buttons.push(h("button", { id: "enable-key", onclick: () => act(ctx, `Key ${id} enabled.`, () => json(t, "kms", "EnableKey", { KeyId: id })) }, "Enable"));
  if (m.KeyState === "Enabled")
    buttons.push(h("button", { id: "rotate-key", onclick: () => act(ctx, `Key ${id} rotated.`, () => json(t, "kms", "RotateKeyOnDemand", { KeyId: id })) }, "Rotate now"));
  if (m.KeyState === "PendingDeletion") {
    buttons.push(
      h(
        "button",
        { id: "cancel-deletion", onclick: () => act(ctx, `Deletion of ${id} cancelled (the key is Disabled).`, () => json(t, "kms", "CancelKeyDeletion", { KeyId: id })) },
        "Cancel deletion",
      ),
    );
  } else if (m.KeyState !== "PendingDeletion" && m.KeyState !== "PendingReplicaDeletion") {
    buttons.push(
      h(
        "span",
        { class: "inline-form" },
        h("label", { for: "deletion-days" }, "Waiting period (days)"),
        days,
        h(
          "button",
          {
            id: "schedule-deletion",
            class: "danger",
            onclick: () => act(ctx, `Deletion of ${id} scheduled.`, () => json(t, "kms", "ScheduleKeyDeletion", { KeyId: id, PendingWindowInDays: Number(days.value) })),
          },
          "Schedule deletion",
        ),
      ),
    );
  }
  return h("div", { class: "actions" }, buttons);
}

export const keyPage: Page = {
  title: (ctx) => `Key ${ctx.params[0]}`,
  async load(ctx) {
    const t = ctx.target;
    const id = ctx.params[0];
    const aliases = await all<Alias>(t, "kms", "ListAliases", { KeyId: id }, "Aliases", "Marker", "NextMarker");
    const row = await describe(
      t,
      id,
      aliases.map((a) => ({ ...a, TargetKeyId: a.TargetKeyId ?? id })),
    );
    const detail: KeyDetail = { row, grants: [] };
    try {
      detail.policy = ((await json(t, "kms", "GetKeyPolicy", { KeyId: id, PolicyName: "default" })) as { Policy: string }).Policy;
      detail.grants = await all<Grant>(t, "kms", "ListGrants", { KeyId: id }, "Grants", "Marker", "NextMarker");
    } catch (e) {
      detail.problem = (e as Error).message;
    }
    return detail;
  },
  view(data, ctx) {
    const d = data as KeyDetail;
    const m = d.row.meta;
    return h(
      "div",
      {},
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "ARN"),
        h("dd", {}, h("code", {}, m.Arn)),
        h("dt", {}, "State"),
        h("dd", { id: "key-state" }, badge(m.KeyState)),
        h("dt", {}, "Spec / usage"),
        h("dd", {}, `${m.KeySpec ?? "—"} / ${m.KeyUsage ?? "—"}`),
        h("dt", {}, "Aliases"),
        h("dd", {}, d.row.aliases.join(", ") || "—"),
        h("dt", {}, "Description"),
        h("dd", {}, m.Description || "—"),
        h("dt", {}, "Created"),
        h("dd", {}, time(m.CreationDate)),
        h("dt", {}, "Rotation"),
        h("dd", {}, rotationText(d.row.rotation)),
        h("dt", {}, "Deletion date"),
        h("dd", { id: "deletion-date" }, time(m.DeletionDate)),
        h("dt", {}, "CloudTrail"),
        h("dd", {}, link(`/trail?attr=ResourceName&value=${encodeURIComponent(m.Arn)}`, "events for this key")),
      ),
      actions(ctx, m),
      d.problem ? h("p", { class: "error" }, d.problem) : null,
      h("h2", {}, "Key policy"),
      d.policy ? policyView(d.policy) : h("p", {}, "—"),
      h("h2", {}, "Grants"),
      grantsTable(d.grants),
    );
  },
};
