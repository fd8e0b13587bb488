/**
 * The container credentials endpoint (docs/ecs-fargate.md#task-iam-roles): `GET
 * /v2/credentials/<id>` answers the task role's temporary credentials in the format the AWS
 * SDKs' container credentials provider reads
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). The id is
 * random per task and known only to the task's containers, so a task reads only its own role's
 * credentials. Refusals are those of the ECS container agent: 400 with a `code` and `message`.
 */
import type { AppContext } from "../kernel/context.ts";
import type { RoleCredentials } from "./port.ts";

export const CREDENTIALS_PATH = "/v2/credentials";
/** Where containers reach the endpoint inside a task's network namespace (the DNAT'ed link-local address). */
export const CREDENTIALS_HOST = "169.254.170.2";

export interface CredentialsReply {
  status: number;
  body: unknown;
}

/** True for a path the credentials endpoint answers (`/v2/credentials` and below). */
export function isCredentialsPath(path: string): boolean {
  return path === CREDENTIALS_PATH || path.startsWith(`${CREDENTIALS_PATH}/`);
}

/** "2026-12-06T18:00:00Z": the agent writes the expiration in RFC 3339 without fractions. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function credentialsBody(c: RoleCredentials): Record<string, string> {
  return { RoleArn: c.roleArn, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, Token: c.sessionToken, Expiration: rfc3339(c.expiration) };
}

const refusal = (code: string, message: string): CredentialsReply => ({ status: 400, body: { code, message: `CredentialsV2Request: ${message}` } });

/** Answers a request for the credentials endpoint's path. */
export async function handleCredentialsRequest(app: AppContext, method: string, path: string): Promise<CredentialsReply> {
  if (method !== "GET" && method !== "HEAD") return { status: 405, body: { code: "MethodNotAllowed", message: "Use GET." } };
  const id = path.slice(CREDENTIALS_PATH.length + 1);
  if (id === "") return refusal("NoIdInRequest", "No ID in the request");
  const credentials = await app.find("taskRoles")?.credentials(id);
  if (!credentials) return refusal("InvalidIdInRequest", "ID not found");
  return { status: 200, body: credentialsBody(credentials) };
}

/**
 * Where a task's code finds its role and localfargate. In a task's own network namespace the
 * SDKs use the relative URI at 169.254.170.2, which the namespace sends to this server, as on
 * Fargate. A host process has no such address: it gets the full URI on loopback, which the SDKs
 * accept, and not the relative one (the SDKs prefer the relative URI when both are set).
 */
export function credentialsEnvironment(id: string | undefined, reach: { kind: "host"; serverUrl: string } | { kind: "namespace" }): Record<string, string> {
  const env: Record<string, string> = { AWS_ENDPOINT_URL: reach.kind === "host" ? reach.serverUrl : `http://${CREDENTIALS_HOST}` };
  if (id === undefined) return env;
  const path = `${CREDENTIALS_PATH}/${id}`;
  if (reach.kind === "host") env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `${reach.serverUrl}${path}`;
  else env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = path;
  return env;
}
