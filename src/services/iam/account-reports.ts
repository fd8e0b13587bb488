/**
 * Account-wide reads security reviews start with: GetAccountSummary, the credential report
 * (Generate/GetCredentialReport) and account aliases. The credential report's columns and
 * value conventions are AWS's
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html).
 */
import type {
  CreateAccountAliasRequest,
  DeleteAccountAliasRequest,
  GenerateCredentialReportResponse,
  GetAccountSummaryResponse,
  GetCredentialReportResponse,
  ListAccountAliasesRequest,
  ListAccountAliasesResponse,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { accountRecords, type IamAccountRecords } from "./account-records.ts";
import { alreadyExists, noSuchEntity } from "./common.ts";
import { credentialRecords, type SigningCertRec } from "./credential-records.ts";
import { MAX_GROUPS_PER_USER } from "./groups.ts";
import { MAX_SERVER_CERTIFICATES } from "./server-certificates.ts";
import { MAX_SIGNING_CERTIFICATES } from "./signing-certificates.ts";
import { keysLastUsed } from "./key-last-used.ts";
import { authorizeOnAnyResource, iamResolvers, type IamEnv, type KeyLastUsed } from "./ops.ts";
import type { AccessKeyRec, IamState } from "./state.ts";
import { MAX_ACCESS_KEYS } from "./users.ts";

type AccountReportOperation = "GetAccountSummary" | "GenerateCredentialReport" | "GetCredentialReport" | "CreateAccountAlias" | "DeleteAccountAlias" | "ListAccountAliases";

/** How long a credential report stays current: AWS makes a new one when it is older (4 hours). */
const REPORT_LIFETIME_MS = 4 * 60 * 60 * 1000;

/** The credential report's columns, in AWS's order. */
export const CREDENTIAL_REPORT_COLUMNS = [
  "user",
  "arn",
  "user_creation_time",
  "password_enabled",
  "password_last_used",
  "password_last_changed",
  "password_next_rotation",
  "mfa_active",
  "access_key_1_active",
  "access_key_1_last_rotated",
  "access_key_1_last_used_date",
  "access_key_1_last_used_region",
  "access_key_1_last_used_service",
  "access_key_2_active",
  "access_key_2_last_rotated",
  "access_key_2_last_used_date",
  "access_key_2_last_used_region",
  "access_key_2_last_used_service",
  "cert_1_active",
  "cert_1_last_rotated",
  "cert_2_active",
  "cert_2_last_rotated",
] as const;

/** The report's time format: ISO 8601 to the second with an explicit +00:00. */
function reportTime(d: Date): string {
  return new Date(d).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

/** The credential report as CSV: the account root first, then each user by name. */
export function credentialReportCsv(state: IamState, records: IamAccountRecords, account: string, lastUsed: ReadonlyMap<string, KeyLastUsed> = new Map()): string {
  const settings = records.of(account);
  const maxAge = settings.passwordPolicy?.maxPasswordAge ?? 0;
  const keyColumns = (keys: (AccessKeyRec | "built-in" | undefined)[]): string[] => {
    const out: string[] = [];
    for (let n = 0; n < MAX_ACCESS_KEYS; n++) {
      const k = keys[n];
      if (k === "built-in") out.push("true", "N/A", "N/A", "N/A", "N/A");
      else if (!k) out.push("false", "N/A", "N/A", "N/A", "N/A");
      else {
        const used = lastUsed.get(k.id);
        out.push(String(k.status === "Active"), reportTime(k.createDate), used ? reportTime(used.date) : "N/A", used?.region ?? "N/A", used?.service ?? "N/A");
      }
    }
    return out;
  };
  const credentials = credentialRecords(state);
  /** cert_1/cert_2: a signing certificate's Status and upload time, in upload order. */
  const certColumns = (certs: SigningCertRec[]): string[] => {
    const out: string[] = [];
    for (let n = 0; n < 2; n++) {
      const c = certs[n];
      out.push(c ? String(c.status === "Active") : "false", c ? reportTime(c.uploadDate) : "N/A");
    }
    return out;
  };
  const rootKeys = state.keysOf(account, undefined);
  const rootCreated = rootKeys.length ? rootKeys[0].createDate : new Date(0);
  const rows: string[][] = [
    [
      "<root_account>",
      `arn:aws:iam::${account}:root`,
      reportTime(rootCreated),
      "not_supported",
      "no_information",
      "not_supported",
      "not_supported",
      "false",
      // the root user's built-in access key (docs/iam-sts.md) is always active: key 1
      ...keyColumns(["built-in", rootKeys[0]]),
      ...certColumns(credentials.signingCertsOf(account, undefined)),
    ],
  ];
  const users = state.users(account).sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
  for (const u of users) {
    const profile = records.loginProfile(u.id);
    const mfa = state.mfaDevicesOfUser(u).length > 0;
    const nextRotation = profile && maxAge > 0 ? reportTime(new Date(new Date(profile.passwordLastChanged).getTime() + maxAge * 86_400_000)) : "N/A";
    rows.push([
      u.name,
      u.arn,
      reportTime(u.createDate),
      String(!!profile),
      // console sign-in is not offered, so a password is never used
      profile ? "no_information" : "N/A",
      profile ? reportTime(profile.passwordLastChanged) : "N/A",
      nextRotation,
      String(mfa),
      ...keyColumns(state.keysOf(account, u.id)),
      ...certColumns(credentials.signingCertsOf(account, u.id)),
    ]);
  }
  return [CREDENTIAL_REPORT_COLUMNS.join(","), ...rows.map((r) => r.join(","))].join("\n");
}

/** AWS's default quotas as GetAccountSummary reports them (docs/limits.md). */
const SUMMARY_QUOTAS = {
  UsersQuota: 5000,
  GroupsQuota: 300,
  RolesQuota: 1000,
  PoliciesQuota: 1500,
  ServerCertificatesQuota: MAX_SERVER_CERTIFICATES,
  InstanceProfilesQuota: 1000,
  UserPolicySizeQuota: 2048,
  GroupPolicySizeQuota: 5120,
  RolePolicySizeQuota: 10240,
  PolicySizeQuota: 6144,
  AssumeRolePolicySizeQuota: 2048,
  GroupsPerUserQuota: MAX_GROUPS_PER_USER,
  SigningCertificatesPerUserQuota: MAX_SIGNING_CERTIFICATES,
  AccessKeysPerUserQuota: MAX_ACCESS_KEYS,
  AttachedPoliciesPerUserQuota: 10,
  AttachedPoliciesPerGroupQuota: 10,
  AttachedPoliciesPerRoleQuota: 10,
  PolicyVersionsInUseQuota: 10000,
  VersionsPerPolicyQuota: 5,
} as const;

export function accountReportOperations(env: IamEnv): OperationTable<AccountReportOperation> {
  const { state } = env;
  const records = accountRecords(state);
  const credentials = credentialRecords(state);
  const resolve = iamResolvers(env);

  return {
    GetAccountSummary: defineOperation<object, GetAccountSummaryResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function getAccountSummary(_ctx, _i, account) {
        const users = state.users(account);
        const policies = state.customerPolicies(account);
        const devices = state.mfaDevicesOf(account);
        const attachedArns = new Set<string>();
        for (const e of [...users, ...state.groups(account), ...state.roles(account)]) for (const a of e.attached) attachedArns.add(a);
        const summary: Record<string, number> = {
          Users: users.length,
          Groups: state.groups(account).length,
          Roles: state.roles(account).length,
          Policies: policies.length,
          PolicyVersionsInUse: policies.reduce((n, p) => n + (attachedArns.has(p.arn) ? p.versions.length : 0), 0),
          MFADevices: devices.length,
          MFADevicesInUse: devices.filter((d) => d.userId !== undefined).length,
          AccountMFAEnabled: 0,
          // every account's root user has the built-in access key (docs/iam-sts.md)
          AccountAccessKeysPresent: 1,
          AccountSigningCertificatesPresent: credentials.signingCertsOf(account, undefined).length > 0 ? 1 : 0,
          ServerCertificates: credentials.serverCertsOf(account).length,
          InstanceProfiles: 0,
          Providers: [...state.oidcProviders.index("byAccount").all(account), ...state.samlProviders.index("byAccount").all(account)].length,
          GlobalEndpointTokenVersion: 1,
        };
        Object.assign(summary, SUMMARY_QUOTAS);
        return { SummaryMap: summary };
      },
    }),

    GenerateCredentialReport: defineOperation<object, GenerateCredentialReportResponse, string>({
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: async function generateCredentialReport(ctx, _i, account) {
        const s = records.of(account);
        if (s.report && ctx.now.getTime() - new Date(s.report.generatedAt).getTime() < REPORT_LIFETIME_MS) {
          return { State: "COMPLETE" };
        }
        const keys = [...state.keysOf(account, undefined), ...state.users(account).flatMap((u) => state.keysOf(account, u.id))];
        const lastUsed = await keysLastUsed(env, keys);
        records.save(ctx, { ...s, report: { generatedAt: ctx.now, csv: credentialReportCsv(state, records, account, lastUsed) } });
        return { State: "STARTED", Description: "No report exists. Starting a new report generation task" };
      },
    }),

    GetCredentialReport: defineOperation<object, GetCredentialReportResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function getCredentialReport(ctx, _i, account) {
        const report = records.of(account).report;
        if (!report) throw new ServiceError("ReportNotPresent", "Credential report does not exist. Use GenerateCredentialReport to generate a report.", 410);
        if (ctx.now.getTime() - new Date(report.generatedAt).getTime() >= REPORT_LIFETIME_MS) {
          throw new ServiceError("ReportExpired", "Credential report is expired. Use GenerateCredentialReport to generate a new report.", 410);
        }
        return { Content: new TextEncoder().encode(report.csv), ReportFormat: "text/csv", GeneratedTime: new Date(report.generatedAt) };
      },
    }),

    CreateAccountAlias: defineOperation<CreateAccountAliasRequest, object, string>({
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function createAccountAlias(ctx, i, account) {
        const owner = records.aliasOwner(i.AccountAlias!);
        if (owner === account) return {};
        if (owner !== undefined) throw alreadyExists(`The account alias ${i.AccountAlias} already exists.`);
        records.save(ctx, { ...records.of(account), alias: i.AccountAlias! });
        return {};
      },
    }),

    DeleteAccountAlias: defineOperation<DeleteAccountAliasRequest, object, string>({
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function deleteAccountAlias(ctx, i, account) {
        const s = records.of(account);
        if (s.alias !== i.AccountAlias) throw noSuchEntity(`The account alias ${i.AccountAlias} cannot be found.`);
        const { alias: _gone, ...rest } = s;
        records.save(ctx, rest);
        return {};
      },
    }),

    ListAccountAliases: defineOperation<ListAccountAliasesRequest, ListAccountAliasesResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function listAccountAliases(_ctx, _i, account) {
        const alias = records.of(account).alias;
        return { AccountAliases: alias ? [alias] : [], IsTruncated: false };
      },
    }),
  };
}
