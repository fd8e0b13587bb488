/**
 * Service last accessed details (Generate/GetServiceLastAccessedDetails and
 * GetServiceLastAccessedDetailsWithEntities), from the CloudTrail event store: for an IAM user,
 * role, group or managed policy, each service its policies allow, with when an IAM user or role
 * last called it, which one, from which Region, and how many did
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html).
 * A role's activity is its sessions'; a group's, its members'; a policy's, that of the users
 * and roles it is attached to (directly or through a group). The job runs after
 * GenerateServiceLastAccessedDetails answers; a Get answers IN_PROGRESS until it is done.
 * See docs/iam-sts.md, "Service last accessed details".
 */
import { randomUUID } from "node:crypto";
import type {
  EntityDetails,
  GenerateServiceLastAccessedDetailsRequest,
  GenerateServiceLastAccessedDetailsResponse,
  GetServiceLastAccessedDetailsRequest,
  GetServiceLastAccessedDetailsResponse,
  GetServiceLastAccessedDetailsWithEntitiesRequest,
  GetServiceLastAccessedDetailsWithEntitiesResponse,
  ServiceLastAccessed,
  TrackedActionLastAccessed,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { ServiceDef } from "../../kernel/service.ts";
import type { WriteOp } from "../../store/store.ts";
import { compileGlob } from "../../policy/wildcard.ts";
import { invalidInput, noSuchEntity, paginate, parseIamArn } from "./common.ts";
import { authorizeOnAnyResource, beginIamCall, iamChecks, type IamEnv } from "./ops.ts";
import type { GroupRec, IamState, RoleRec, UserRec } from "./state.ts";

/** A job still in progress has no completion date (the model marks it required). */
type Pending<T> = Omit<T, "JobCompletionDate"> & { JobCompletionDate?: Date };

type LastAccessedOperation = "GenerateServiceLastAccessedDetails" | "GetServiceLastAccessedDetails" | "GetServiceLastAccessedDetailsWithEntities";

export const KIND_LAST_ACCESSED_JOB = "iam.lastaccessedjob";

/**
 * Jobs kept per account: a new job beyond this many deletes the account's oldest, so repeated
 * Generate calls cannot grow the store without bound (localfargate's choice, docs/iam-sts.md).
 */
export const MAX_JOBS_PER_ACCOUNT = 100;

/** AWS reports activity of the last 400 days (the tracking period). */
export const TRACKING_PERIOD_MS = 400 * 86_400_000;

/**
 * Services whose actions are reported one by one at ACTION_LEVEL. AWS first tracked Amazon EC2,
 * IAM, AWS Lambda and Amazon S3 management actions, and has added services since
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed-action-last-accessed.html);
 * localfargate tracks the two of that first set it has: IAM, and S3's bucket (management) actions.
 */
export const ACTION_TRACKED_SERVICES: ReadonlySet<string> = new Set(["iam", "s3"]);

/** Service names as AWS prints them; a namespace not listed is named by itself. */
const SERVICE_NAMES: Record<string, string> = {
  cloudtrail: "AWS CloudTrail",
  ec2: "Amazon EC2",
  ecr: "Amazon Elastic Container Registry",
  ecs: "Amazon Elastic Container Service",
  iam: "AWS Identity and Access Management",
  kms: "AWS Key Management Service",
  lambda: "AWS Lambda",
  logs: "Amazon CloudWatch Logs",
  organizations: "AWS Organizations",
  s3: "Amazon S3",
  secretsmanager: "AWS Secrets Manager",
  ssm: "AWS Systems Manager",
  sts: "AWS Security Token Service",
};

/** What the jobs need from the rest of the server. */
export interface LastAccessedDeps {
  /** the latest event per entity, service, event name and Region since `sinceMs` (every Region) */
  activity(entities: readonly string[], sinceMs: number): Promise<{ entity: string; eventSource: string; eventName: string; region: string; lastMs: number }[]>;
  /** the server's services (namespaces, event sources, operations) */
  services(): ReadonlyMap<string, ServiceDef>;
  /** commits writes outside a request */
  commit(ops: WriteOp[]): Promise<void>;
  /** the service clock's time (job completion) */
  nowMs(): number;
}

type EntityType = "USER" | "ROLE" | "GROUP";

interface EntityInfoRec {
  arn: string;
  name: string;
  type: EntityType;
  id: string;
  path: string;
  /** the users and roles whose activity is this entity's (a group's members) */
  actors: string[];
}

interface ServiceResult {
  namespace: string;
  lastMs?: number;
  lastEntity?: string;
  lastRegion?: string;
  total: number;
  /** ACTION_LEVEL, tracked services: every allowed action, used or not */
  actions?: { name: string; lastMs?: number; entity?: string; region?: string }[];
  /** per entity of the job (WithEntities) */
  entities: { arn: string; lastMs?: number }[];
}

export interface LastAccessedJobRec {
  jobId: string;
  accountId: string;
  arn: string;
  granularity: "SERVICE_LEVEL" | "ACTION_LEVEL";
  createdMs: number;
  completedMs?: number;
  entities?: EntityInfoRec[];
  services?: ServiceResult[];
}

/** The entity a job is about, found in the caller's account. */
type Subject = { kind: "user"; rec: UserRec } | { kind: "role"; rec: RoleRec } | { kind: "group"; rec: GroupRec } | { kind: "policy"; arn: string };

interface GenerateResolved {
  account: string;
  arn: string;
  subject?: Subject;
}

function findSubject(state: IamState, account: string, arn: string): Subject | undefined {
  const parts = parseIamArn(arn)!;
  if (parts.kind === "policy") return state.findPolicy(account, arn) ? { kind: "policy", arn } : undefined;
  if (parts.accountId !== account) return undefined;
  const matches = (e: { arn: string } | undefined) => e !== undefined && e.arn === arn;
  if (parts.kind === "user") {
    const u = state.findUser(account, parts.name);
    return matches(u) ? { kind: "user", rec: u! } : undefined;
  }
  if (parts.kind === "role") {
    const r = state.findRole(account, parts.name);
    return matches(r) ? { kind: "role", rec: r! } : undefined;
  }
  const g = state.findGroup(account, parts.name);
  return matches(g) ? { kind: "group", rec: g! } : undefined;
}

const info = (type: EntityType, e: { arn: string; name: string; id: string; path: string }, actors: string[]): EntityInfoRec => ({
  arn: e.arn,
  name: e.name,
  type,
  id: e.id,
  path: e.path,
  actors,
});

/** The job's entities (what WithEntities lists) and the identity policy documents that decide its services. */
function subjectScope(state: IamState, account: string, s: Subject): { entities: EntityInfoRec[]; documents: string[] } {
  const membersOf = (g: GroupRec) => state.users(account).filter((u) => g.members.includes(u.id));
  switch (s.kind) {
    case "user":
      return { entities: [info("USER", s.rec, [s.rec.arn])], documents: state.policiesOfUser(s.rec).map((p) => p.doc) };
    case "role":
      return { entities: [info("ROLE", s.rec, [s.rec.arn])], documents: state.policiesOfRole(s.rec).map((p) => p.doc) };
    case "group":
      return { entities: membersOf(s.rec).map((u) => info("USER", u, [u.arn])), documents: state.policiesOfGroup(s.rec).map((p) => p.doc) };
    case "policy": {
      const use = state.usage(account, s.arn);
      const entities = [
        ...use.users.map((u) => info("USER", u, [u.arn])),
        ...use.groups.map((g) =>
          info(
            "GROUP",
            g,
            membersOf(g).map((u) => u.arn),
          ),
        ),
        ...use.roles.map((r) => info("ROLE", r, [r.arn])),
      ];
      const doc = state.policyDocument(account, s.arn);
      return { entities, documents: doc ? [doc] : [] };
    }
  }
}

/** The action patterns of a document's Allow statements; NotAction allows every action it does not name. */
function allowedPatterns(doc: string): { actions: string[]; notActions: string[][] } {
  const out = { actions: [] as string[], notActions: [] as string[][] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    return out;
  }
  const statements = (parsed as { Statement?: unknown })?.Statement;
  const list = Array.isArray(statements) ? statements : statements ? [statements] : [];
  const strings = (v: unknown): string[] => (typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  for (const st of list as Record<string, unknown>[]) {
    if (!st || st.Effect !== "Allow") continue;
    out.actions.push(...strings(st.Action));
    if (st.NotAction !== undefined) out.notActions.push(strings(st.NotAction));
  }
  return out;
}

/** Whether the documents allow some action of a service, or one action. */
class AllowedActions {
  private readonly actions: ((v: string) => boolean)[] = [];
  private readonly notActions: ((v: string) => boolean)[][] = [];
  /** the services Action elements name without a wildcard in the service part */
  readonly namespaces = new Set<string>();

  constructor(documents: string[]) {
    for (const d of documents) {
      const p = allowedPatterns(d);
      for (const a of p.actions) {
        this.actions.push(compileGlob(a, true));
        const colon = a.indexOf(":");
        // a service prefix as ServiceNamespace allows it ([\w-], at most 64)
        if (colon > 0 && /^[\w-]{1,64}$/.test(a.slice(0, colon))) this.namespaces.add(a.slice(0, colon).toLowerCase());
      }
      for (const n of p.notActions) this.notActions.push(n.map((a) => compileGlob(a, true)));
    }
  }

  /** A wildcard service part (`*`, `k*:*`) covers the service; NotAction does unless it leaves out all of it. */
  service(namespace: string): boolean {
    if (this.namespaces.has(namespace)) return true;
    const anyAction = `${namespace}:*`;
    return this.actions.some((m) => m(anyAction)) || this.notActions.some((ms) => !ms.some((m) => m(anyAction)));
  }

  action(namespace: string, name: string): boolean {
    const v = `${namespace}:${name}`;
    return this.actions.some((m) => m(v)) || this.notActions.some((ms) => !ms.some((m) => m(v)));
  }
}

/** The services the job reports: those the policies allow; a wildcard covers every service this server has. */
function reportedNamespaces(allowed: AllowedActions, services: ReadonlyMap<string, ServiceDef>): string[] {
  const known = new Set([...services.values()].map((d) => d.iamPrefix));
  const out = new Set<string>();
  for (const ns of allowed.namespaces) out.add(ns);
  for (const ns of known) if (allowed.service(ns)) out.add(ns);
  return [...out].sort();
}

/**
 * A tracked service's actions, each with the CloudTrail event names of the calls authorized as
 * it: an operation's declared `action` (else `<prefix>:<operation>`) and its declared `eventName`
 * (else the operation's name). Data events are left out, as AWS has no action last accessed
 * information for them (S3's object-level calls and listings).
 */
function trackedActions(namespace: string, services: ReadonlyMap<string, ServiceDef>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const def = [...services.values()].find((d) => d.iamPrefix === namespace);
  if (!def) return out;
  for (const [operation, op] of Object.entries(def.operations)) {
    if (op.dataEvent) continue;
    const action = op.action ?? `${namespace}:${operation}`;
    const name = action.slice(action.indexOf(":") + 1);
    const events = out.get(name) ?? new Set<string>();
    events.add(op.eventName ?? operation);
    out.set(name, events);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Computes a job's result from the entities' activity in the tracking period. */
export async function computeJob(state: IamState, deps: LastAccessedDeps, job: LastAccessedJobRec, nowMs: number): Promise<LastAccessedJobRec> {
  const subject = findSubject(state, job.accountId, job.arn);
  const services = deps.services();
  const { entities, documents } = subject ? subjectScope(state, job.accountId, subject) : { entities: [], documents: [] };
  const allowed = new AllowedActions(documents);
  const namespaces = reportedNamespaces(allowed, services);
  const sourceToNamespace = new Map<string, string>();
  for (const d of services.values()) sourceToNamespace.set(d.eventSource, d.iamPrefix);
  const namespaceOf = (source: string) => sourceToNamespace.get(source) ?? source.replace(/\.amazonaws\.com$/, "");

  const actors = [...new Set(entities.flatMap((e) => e.actors))];
  const activity = await deps.activity(actors, job.createdMs - TRACKING_PERIOD_MS);
  const results: ServiceResult[] = namespaces.map((ns) => {
    const rows = activity.filter((a) => namespaceOf(a.eventSource) === ns);
    const r: ServiceResult = { namespace: ns, total: new Set(rows.map((a) => a.entity)).size, entities: [] };
    const latest = rows.reduce<(typeof rows)[number] | undefined>((m, a) => (!m || a.lastMs > m.lastMs ? a : m), undefined);
    if (latest) Object.assign(r, { lastMs: latest.lastMs, lastEntity: latest.entity, lastRegion: latest.region });
    for (const e of entities) {
      const mine = rows.filter((a) => e.actors.includes(a.entity));
      const last = mine.length ? Math.max(...mine.map((a) => a.lastMs)) : undefined;
      r.entities.push(last === undefined ? { arn: e.arn } : { arn: e.arn, lastMs: last });
    }
    if (job.granularity === "ACTION_LEVEL" && ACTION_TRACKED_SERVICES.has(ns)) {
      r.actions = [...trackedActions(ns, services)]
        .filter(([name]) => allowed.action(ns, name))
        .map(([name, events]) => {
          const used = rows.filter((a) => events.has(a.eventName)).reduce<(typeof rows)[number] | undefined>((m, a) => (!m || a.lastMs > m.lastMs ? a : m), undefined);
          return used ? { name, lastMs: used.lastMs, entity: used.entity, region: used.region } : { name };
        });
    }
    return r;
  });
  return { ...job, completedMs: nowMs, entities, services: results };
}

function serviceView(r: ServiceResult): ServiceLastAccessed {
  const out: ServiceLastAccessed = { ServiceName: SERVICE_NAMES[r.namespace] ?? r.namespace, ServiceNamespace: r.namespace };
  if (r.lastMs !== undefined) {
    out.LastAuthenticated = new Date(r.lastMs);
    out.LastAuthenticatedEntity = r.lastEntity;
    out.LastAuthenticatedRegion = r.lastRegion;
  }
  // absent, not 0, when nobody used the service (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceLastAccessed.html)
  if (r.total > 0) out.TotalAuthenticatedEntities = r.total;
  if (r.actions) {
    out.TrackedActionsLastAccessed = r.actions.map((a): TrackedActionLastAccessed => {
      if (a.lastMs === undefined) return { ActionName: a.name };
      return { ActionName: a.name, LastAccessedEntity: a.entity, LastAccessedTime: new Date(a.lastMs), LastAccessedRegion: a.region };
    });
  }
  return out;
}

/** The same answer for a JobId that does not exist and one of another account. */
const noSuchJob = (jobId: string) => invalidInput(`Job with id ${jobId} does not exist.`);

export function lastAccessedOperations(env: IamEnv, deps: LastAccessedDeps): OperationTable<LastAccessedOperation> {
  const { state } = env;
  const store = state.store;
  const running = new Set<string>();
  /** each account's jobs, oldest first; read from the store at the first Generate */
  let jobIndex: Map<string, { jobId: string; createdMs: number }[]> | undefined;
  function jobsOfAccount(account: string): { jobId: string; createdMs: number }[] {
    if (!jobIndex) {
      jobIndex = new Map();
      for (const j of store.all<LastAccessedJobRec>(KIND_LAST_ACCESSED_JOB)) {
        const list = jobIndex.get(j.accountId) ?? [];
        list.push({ jobId: j.jobId, createdMs: j.createdMs });
        jobIndex.set(j.accountId, list);
      }
      for (const list of jobIndex.values()) list.sort((a, b) => a.createdMs - b.createdMs);
    }
    let list = jobIndex.get(account);
    if (!list) jobIndex.set(account, (list = []));
    return list;
  }

  /** Runs a job that is not done (and not already running); its result is committed when ready. */
  function runJob(jobId: string): void {
    if (running.has(jobId)) return;
    running.add(jobId);
    const work = async () => {
      const job = store.get<LastAccessedJobRec>(KIND_LAST_ACCESSED_JOB, jobId);
      if (!job || job.completedMs !== undefined) return;
      const done = await computeJob(state, deps, job, deps.nowMs());
      // only if the job is still there (an account's newer jobs may have replaced it meanwhile)
      const put = store.put(KIND_LAST_ACCESSED_JOB, jobId, done);
      await deps.commit([(db) => (store.get(KIND_LAST_ACCESSED_JOB, jobId) ? put(db) : undefined)]);
    };
    setImmediate(() => {
      work()
        .catch((e: unknown) => console.error("[localfargate] service last accessed job failed:", e))
        .finally(() => running.delete(jobId));
    });
  }

  /** The caller's job, started again if it is not done and not running (a restart). */
  function jobOf(account: string, jobId: string): LastAccessedJobRec {
    const job = store.get<LastAccessedJobRec>(KIND_LAST_ACCESSED_JOB, jobId);
    if (!job || job.accountId !== account) throw noSuchJob(jobId);
    if (job.completedMs === undefined) runJob(jobId);
    return job;
  }

  return {
    GenerateServiceLastAccessedDetails: defineOperation<GenerateServiceLastAccessedDetailsRequest, GenerateServiceLastAccessedDetailsResponse, GenerateResolved>({
      resolve: function resolveLastAccessedSubject(ctx, i) {
        const account = beginIamCall(env, ctx);
        const arn = i.Arn!;
        if (!parseIamArn(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
        const subject = findSubject(state, account, arn);
        return { account, arn, ...(subject ? { subject } : {}) };
      },
      authorize: function authorizeOnLastAccessedSubject(ctx, _i, r) {
        return iamChecks(ctx, r.arn);
      },
      handler: function generateServiceLastAccessedDetails(ctx, i, r) {
        if (!r.subject) throw noSuchEntity(`The entity with ARN ${r.arn} cannot be found.`);
        const job: LastAccessedJobRec = {
          jobId: randomUUID(),
          accountId: r.account,
          arn: r.arn,
          granularity: i.Granularity === "ACTION_LEVEL" ? "ACTION_LEVEL" : "SERVICE_LEVEL",
          createdMs: ctx.now.getTime(),
        };
        ctx.writes.push(store.put(KIND_LAST_ACCESSED_JOB, job.jobId, job));
        const jobs = jobsOfAccount(r.account);
        jobs.push({ jobId: job.jobId, createdMs: job.createdMs });
        while (jobs.length > MAX_JOBS_PER_ACCOUNT) ctx.writes.push(store.del(KIND_LAST_ACCESSED_JOB, jobs.shift()!.jobId));
        runJob(job.jobId);
        return { JobId: job.jobId };
      },
    }),

    GetServiceLastAccessedDetails: defineOperation<GetServiceLastAccessedDetailsRequest, Pending<GetServiceLastAccessedDetailsResponse>, string>({
      readOnly: true,
      resolve: function resolveCallerAccount(ctx) {
        return beginIamCall(env, ctx);
      },
      authorize: authorizeOnAnyResource,
      handler: function getServiceLastAccessedDetails(ctx, i, account) {
        const job = jobOf(account, i.JobId!);
        const base = { JobType: job.granularity, JobCreationDate: new Date(job.createdMs) };
        if (job.completedMs === undefined) return { JobStatus: "IN_PROGRESS", ...base, ServicesLastAccessed: [], IsTruncated: false };
        const page = paginate(job.services ?? [], (s) => s.namespace, i.Marker, i.MaxItems);
        return {
          JobStatus: "COMPLETED",
          ...base,
          JobCompletionDate: new Date(job.completedMs),
          ServicesLastAccessed: page.items.map(serviceView),
          IsTruncated: page.IsTruncated,
          ...(page.Marker ? { Marker: page.Marker } : {}),
        };
      },
    }),

    GetServiceLastAccessedDetailsWithEntities: defineOperation<
      GetServiceLastAccessedDetailsWithEntitiesRequest,
      Pending<GetServiceLastAccessedDetailsWithEntitiesResponse>,
      string
    >({
      readOnly: true,
      resolve: function resolveCallerAccount(ctx) {
        return beginIamCall(env, ctx);
      },
      authorize: authorizeOnAnyResource,
      handler: function getServiceLastAccessedDetailsWithEntities(ctx, i, account) {
        const job = jobOf(account, i.JobId!);
        const created = new Date(job.createdMs);
        if (job.completedMs === undefined) return { JobStatus: "IN_PROGRESS", JobCreationDate: created, EntityDetailsList: [], IsTruncated: false };
        const service = (job.services ?? []).find((s) => s.namespace === i.ServiceNamespace);
        if (!service) throw invalidInput(`The service namespace ${i.ServiceNamespace} is not in the job's report.`);
        const byArn = new Map((job.entities ?? []).map((e) => [e.arn, e]));
        // the entities that used the service first (most recent first), then the others by name
        const rows = service.entities
          .map((e) => ({ e, info: byArn.get(e.arn)! }))
          .sort((a, b) => (b.e.lastMs ?? -1) - (a.e.lastMs ?? -1) || (a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0));
        const page = paginate(rows, (_r, n) => String(n).padStart(6, "0"), i.Marker, i.MaxItems);
        const list: EntityDetails[] = page.items.map(({ e, info: x }) => ({
          EntityInfo: { Arn: x.arn, Name: x.name, Type: x.type, Id: x.id, Path: x.path },
          ...(e.lastMs !== undefined ? { LastAuthenticated: new Date(e.lastMs) } : {}),
        }));
        return {
          JobStatus: "COMPLETED",
          JobCreationDate: created,
          JobCompletionDate: new Date(job.completedMs),
          EntityDetailsList: list,
          IsTruncated: page.IsTruncated,
          ...(page.Marker ? { Marker: page.Marker } : {}),
        };
      },
    }),
  };
}
