/**
 * Pulls from a container registry (the OCI distribution API) with `skopeo`, anonymously: which
 * registries may be reached, the `docker://` arguments, and how a failed pull reads as the stop
 * reason Amazon ECS gives (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html).
 *
 * A registry is reached only when an image name names it (`docker.io` for a bare name, as Docker
 * does). Plain HTTP and unverified TLS are allowed for loopback registries only (`localhost`,
 * `127.0.0.0/8`, `[::1]`), never for any other host. `LOCALFARGATE_REGISTRY_PULLS=loopback` keeps
 * every pull on this machine (the test suite sets it); `off` turns pulls off.
 */
import { cannotPullStopReason } from "./store.ts";
import type { ImageRef } from "./refs.ts";

export type RegistryPulls = "all" | "loopback" | "off";

export function registryPullsFromEnv(value = process.env.LOCALFARGATE_REGISTRY_PULLS): RegistryPulls {
  return value === "loopback" || value === "off" ? value : "all";
}

/** The registry host without its port. */
function hostOf(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(0, registry.indexOf("]") + 1);
  const colon = registry.lastIndexOf(":");
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = hostOf(registry).toLowerCase();
  if (host === "localhost" || host === "[::1]") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((n) => Number(n) <= 255);
}

/**
 * Whether a pull of `ref` may go to its registry. Amazon ECR is never reached (its images come
 * from `image load`), nor `localhost/…` without a port: Podman's name for images built locally.
 */
export function mayPull(ref: ImageRef, pulls: RegistryPulls): boolean {
  if (ref.ecr || ref.registry === "localhost" || pulls === "off") return false;
  return pulls === "all" || isLoopbackRegistry(ref.registry);
}

/**
 * skopeo's global options for a registry call: a registry that accepts the connection and then
 * stalls must not hold the store (and every task waiting on it) for ever.
 */
export const INSPECT_TIMEOUT = ["--command-timeout", "60s"];
export const PULL_TIMEOUT = ["--command-timeout", "15m"];

/**
 * skopeo's source options for the registry: anonymous (never the host user's registry logins,
 * which would let any caller of RunTask pull what that user may), TLS verified except on loopback.
 */
export function sourceOptions(ref: ImageRef): string[] {
  return ["--src-no-creds", ...(isLoopbackRegistry(ref.registry) ? ["--src-tls-verify=false"] : [])];
}

/** The same options for `skopeo inspect`, which names them without the `src-` prefix. */
export function inspectOptions(ref: ImageRef): string[] {
  return ["--no-creds", ...(isLoopbackRegistry(ref.registry) ? ["--tls-verify=false"] : [])];
}

/** skopeo's error without its log prefix. */
function cause(stderr: string): string {
  const line = stderr.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.replace(/^time="[^"]*" level=\w+ msg=/, "").replace(/^"|"$/g, "");
}

const UNREACHABLE =
  /dial tcp|connection refused|connection reset|no such host|i\/o timeout|deadline exceeded|tls: |server gave http response|network is unreachable|no route to host|eof/i;
const REFUSED = /unauthorized|authentication required|access denied|requested access to the resource is denied|insufficient_scope/i;
const NOT_FOUND = /manifest unknown|name unknown|blob unknown|not found/i;

/**
 * The stop reason for a failed pull: the registry cannot be reached (checked first: a port in the
 * message must not read as a status code), it refuses an anonymous pull (401/403), or it does
 * not have the image (404, manifest unknown).
 */
export function pullFailureReason(ref: ImageRef, stderr: string): string {
  const n = ref.normalized;
  const why = cause(stderr);
  const prefix = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${n}`;
  if (UNREACHABLE.test(why)) {
    const what = ref.digest ?? ref.tag ?? "latest";
    const scheme = isLoopbackRegistry(ref.registry) ? "http" : "https";
    const detail = /(?:dial tcp|lookup)\b.*$/.exec(why)?.[0] ?? why;
    return `${prefix}: failed to do request: Head "${scheme}://${ref.registry}/v2/${ref.repository}/manifests/${what}": ${detail}`;
  }
  if (REFUSED.test(why)) return `${prefix}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`;
  if (NOT_FOUND.test(why)) return cannotPullStopReason(n);
  return `${prefix}: ${why}`;
}
