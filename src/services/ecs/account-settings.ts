/**
 * ECS account settings (docs/ecs-fargate.md#account-settings): per principal (IAM user, role or
 * the root user, which sets the account default) and per Region. A principal's own setting wins
 * over the root user's, which wins over AWS's default
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html).
 */
import type {
  DeleteAccountSettingRequest,
  DeleteAccountSettingResponse,
  ListAccountSettingsRequest,
  ListAccountSettingsResponse,
  PutAccountSettingDefaultRequest,
  PutAccountSettingDefaultResponse,
  PutAccountSettingRequest,
  PutAccountSettingResponse,
  Setting,
  SettingName,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import type { Store, WriteOp } from "../../store/store.ts";
import { checkMaxResults, tokenFor, tokenPosition } from "./paging.ts";

export const KIND_ACCOUNT_SETTING = "ecs.accountSetting";

/** AWS's value for each setting nobody has set, and the values each accepts. */
const SETTINGS: Record<string, { default: string; values: string[] }> = {
  serviceLongArnFormat: { default: "enabled", values: ["enabled", "disabled"] },
  taskLongArnFormat: { default: "enabled", values: ["enabled", "disabled"] },
  containerInstanceLongArnFormat: { default: "enabled", values: ["enabled", "disabled"] },
  awsvpcTrunking: { default: "disabled", values: ["enabled", "disabled"] },
  containerInsights: { default: "disabled", values: ["enabled", "disabled", "enhanced"] },
  fargateFIPSMode: { default: "disabled", values: ["enabled", "disabled"] },
  tagResourceAuthorization: { default: "on", values: ["on", "off"] },
  fargateTaskRetirementWaitPeriod: { default: "7", values: ["0", "7", "14"] },
  guardDutyActivate: { default: "off", values: ["on", "off"] },
  // non-blocking since June 25, 2025 (the PutAccountSetting API reference, "defaultLogDriverMode")
  defaultLogDriverMode: { default: "non-blocking", values: ["blocking", "non-blocking"] },
  fargateEventWindows: { default: "disabled", values: ["enabled", "disabled"] },
};
const NAMES = Object.keys(SETTINGS).sort();

interface AccountSettingRecord {
  accountId: string;
  region: string;
  principalArn: string;
  name: string;
  value: string;
}

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

export function rootArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/** The principal whose settings a caller reads and changes by default: a role session's role, an IAM user, or the root user. */
function callerPrincipalArn(ctx: RequestContext): string {
  const p = ctx.principal;
  if (p.type === "AssumedRole" && p.session?.roleArn) return p.session.roleArn;
  if (p.type === "IAMUser" || p.type === "Root") return p.arn;
  // federated users (and anything else) follow the root user's settings
  return rootArn(p.accountId);
}

const PRINCIPAL_ARN = /^arn:aws:iam::(\d{12}):(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)$/;

/** The principal a request names (or the caller): a user, role or root ARN of the caller's own account. */
function principalFor(ctx: RequestContext, principalArn: string | undefined): string {
  if (principalArn === undefined || principalArn === "") {
    if (ctx.principal.type === "FederatedUser") throw invalid("Federated users assume the account settings of the root user and can't have their own account settings.");
    return callerPrincipalArn(ctx);
  }
  const m = PRINCIPAL_ARN.exec(principalArn);
  if (!m) throw invalid(`principalArn '${principalArn}' is not the ARN of an IAM user, an IAM role or the root user.`);
  if (m[1] !== ctx.principal.accountId) throw invalid(`principalArn '${principalArn}' is not in your account.`);
  return principalArn;
}

function checkName(name: string | undefined): string {
  if (!name || !SETTINGS[name]) throw invalid(`Invalid setting name '${name ?? ""}'. Valid names: ${NAMES.join(", ")}.`);
  return name;
}

function checkValue(name: string, value: string | undefined): string {
  const allowed = SETTINGS[name].values;
  if (value === undefined || !allowed.includes(value)) throw invalid(`Invalid value '${value ?? ""}' for setting ${name}. Valid values: ${allowed.join(", ")}.`);
  return value;
}

/** The settings records, kept in memory and persisted in the store. */
export class AccountSettings {
  private readonly records = new Map<string, AccountSettingRecord>();

  constructor(private readonly store: Store) {
    for (const r of store.all<AccountSettingRecord>(KIND_ACCOUNT_SETTING)) this.records.set(AccountSettings.id(r), r);
  }

  private static id(r: { accountId: string; region: string; principalArn: string; name: string }): string {
    return `${r.accountId}|${r.region}|${r.principalArn}|${r.name}`;
  }

  get(accountId: string, region: string, principalArn: string, name: string): AccountSettingRecord | undefined {
    return this.records.get(AccountSettings.id({ accountId, region, principalArn, name }));
  }

  put(r: AccountSettingRecord): WriteOp {
    const id = AccountSettings.id(r);
    this.records.set(id, r);
    return this.store.put(KIND_ACCOUNT_SETTING, id, r);
  }

  delete(r: AccountSettingRecord): WriteOp {
    const id = AccountSettings.id(r);
    this.records.delete(id);
    return this.store.del(KIND_ACCOUNT_SETTING, id);
  }

  /** What applies to a principal: its own setting, else the root user's, else AWS's default. */
  effective(accountId: string, region: string, principalArn: string, name: string): Setting {
    const own = this.get(accountId, region, principalArn, name) ?? this.get(accountId, region, rootArn(accountId), name);
    if (own) return { name: name as SettingName, value: own.value, principalArn: own.principalArn, type: "user" };
    return { name: name as SettingName, value: SETTINGS[name].default, principalArn: rootArn(accountId), type: "aws_managed" };
  }

  /** The effective value of a setting for the caller of a request. */
  effectiveFor(ctx: RequestContext, name: string): string {
    return this.effective(ctx.principal.accountId, ctx.region, callerPrincipalArn(ctx), name).value!;
  }
}

function output(r: AccountSettingRecord): Setting {
  return { name: r.name as SettingName, value: r.value, principalArn: r.principalArn, type: "user" };
}

function putAccountSettingOperation(settings: AccountSettings) {
  return defineOperation<PutAccountSettingRequest, PutAccountSettingResponse>({
    authorize: () => [{ action: "ecs:PutAccountSetting", resource: "*" }],
    handler: function putAccountSetting(ctx, input): PutAccountSettingResponse {
      const name = checkName(input.name);
      const value = checkValue(name, input.value);
      const principalArn = principalFor(ctx, input.principalArn);
      if (name === "guardDutyActivate") throw invalid("guardDutyActivate is read-only: Amazon GuardDuty controls it.");
      if (name === "fargateFIPSMode") throw invalid("fargateFIPSMode can only be changed with PutAccountSettingDefault.");
      if (name === "fargateTaskRetirementWaitPeriod" && principalArn !== rootArn(ctx.principal.accountId))
        throw invalid("fargateTaskRetirementWaitPeriod can only be set for the root user.");
      const r: AccountSettingRecord = { accountId: ctx.principal.accountId, region: ctx.region, principalArn, name, value };
      ctx.writes.push(settings.put(r));
      return { setting: output(r) };
    },
  });
}

function putAccountSettingDefaultOperation(settings: AccountSettings) {
  return defineOperation<PutAccountSettingDefaultRequest, PutAccountSettingDefaultResponse>({
    authorize: () => [{ action: "ecs:PutAccountSettingDefault", resource: "*" }],
    handler: function putAccountSettingDefault(ctx, input): PutAccountSettingDefaultResponse {
      const name = checkName(input.name);
      const value = checkValue(name, input.value);
      if (name === "guardDutyActivate") throw invalid("guardDutyActivate is read-only: Amazon GuardDuty controls it.");
      if (name === "fargateFIPSMode" && !ctx.region.startsWith("us-gov-")) throw invalid("fargateFIPSMode is available only in the AWS GovCloud (US) Regions.");
      const r: AccountSettingRecord = { accountId: ctx.principal.accountId, region: ctx.region, principalArn: rootArn(ctx.principal.accountId), name, value };
      ctx.writes.push(settings.put(r));
      return { setting: output(r) };
    },
  });
}

function deleteAccountSettingOperation(settings: AccountSettings) {
  return defineOperation<DeleteAccountSettingRequest, DeleteAccountSettingResponse>({
    authorize: () => [{ action: "ecs:DeleteAccountSetting", resource: "*" }],
    handler: function deleteAccountSetting(ctx, input): DeleteAccountSettingResponse {
      const name = checkName(input.name);
      const principalArn = principalFor(ctx, input.principalArn);
      const r = settings.get(ctx.principal.accountId, ctx.region, principalArn, name);
      if (!r) throw invalid(`No ${name} setting is set for ${principalArn}.`);
      ctx.writes.push(settings.delete(r));
      return { setting: output(r) };
    },
  });
}

function listAccountSettingsOperation(settings: AccountSettings) {
  return defineOperation<ListAccountSettingsRequest, ListAccountSettingsResponse>({
    readOnly: true,
    authorize: () => [{ action: "ecs:ListAccountSettings", resource: "*" }],
    handler: function listAccountSettings(ctx, input): ListAccountSettingsResponse {
      const limit = checkMaxResults(input.maxResults, 10);
      if (input.value !== undefined && input.name === undefined) throw invalid("value can only be specified together with name.");
      const names = input.name === undefined ? NAMES : [checkName(input.name)];
      const principalArn = principalFor(ctx, input.principalArn);
      const account = ctx.principal.accountId;
      const all: Setting[] = [];
      for (const name of names) {
        if (input.effectiveSettings) all.push(settings.effective(account, ctx.region, principalArn, name));
        else {
          const own = settings.get(account, ctx.region, principalArn, name);
          if (own) all.push(output(own));
        }
      }
      const matching = all.filter((s) => input.value === undefined || s.value === input.value);
      const after = tokenPosition(input.nextToken);
      const start = after === undefined ? 0 : matching.findIndex((s) => s.name! > after);
      const page = start < 0 ? [] : matching.slice(start, start + limit);
      const more = start >= 0 && start + limit < matching.length;
      return { settings: page, nextToken: more ? tokenFor(page[page.length - 1].name!) : undefined };
    },
  });
}

export function accountSettingOperations(settings: AccountSettings) {
  return {
    PutAccountSetting: putAccountSettingOperation(settings),
    PutAccountSettingDefault: putAccountSettingDefaultOperation(settings),
    DeleteAccountSetting: deleteAccountSettingOperation(settings),
    ListAccountSettings: listAccountSettingsOperation(settings),
  };
}
