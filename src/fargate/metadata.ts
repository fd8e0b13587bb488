/**
 * Task metadata endpoint v4. Each container gets ECS_CONTAINER_METADATA_URI_V4 =
 * <server url>/_localfargate/metadata/v4/<task token>/<container>; GET on it answers the
 * container's metadata, GET on …/task the task's metadata with its Containers, in AWS's v4
 * format for Fargate. The token is random per task, so a task can read only its own metadata.
 */
import type { Container, ContainerDefinition } from "@aws-sdk/client-ecs";
import type { AppContext } from "../kernel/context.ts";
import type { FargateTask } from "./port.ts";
import { CREDENTIALS_HOST } from "./task-credentials.ts";

export const METADATA_PREFIX = "/_localfargate/metadata/v4/";

export function serverUrl(app: AppContext): string {
  const fromRegistry = app.find("serverUrl");
  if (typeof fromRegistry === "string") return fromRegistry;
  const host = String(app.options.host ?? "127.0.0.1");
  return `http://${host.includes(":") ? `[${host}]` : host}:${Number(app.options.port ?? 4566)}`;
}

/**
 * Where a task's namespace reaches the metadata endpoint: `http://169.254.170.2/v4/…`, as on
 * Fargate; the task endpoint listener (docs/security.md#task-endpoint) answers it.
 */
export const NAMESPACE_METADATA_PREFIX = "/v4/";

/**
 * ECS_CONTAINER_METADATA_URI_V4 for a container: on the server's own address for a host
 * process, at 169.254.170.2 for a container in the task's network namespace.
 */
export function metadataUri(app: AppContext, t: FargateTask, container: string, reach: "host" | "namespace" = "host"): string {
  const path = `${t.metadataToken}/${encodeURIComponent(container)}`;
  if (reach === "namespace") return `http://${CREDENTIALS_HOST}${NAMESPACE_METADATA_PREFIX}${path}`;
  return `${serverUrl(app)}${METADATA_PREFIX}${path}`;
}

function iso(d: Date | undefined): string | undefined {
  return d ? d.toISOString() : undefined;
}

function containerMetadata(t: FargateTask, c: Container, def: ContainerDefinition | undefined): Record<string, unknown> {
  const [family, revision] = (t.task.taskDefinitionArn ?? "").split("/").pop()!.split(":");
  const known = c.lastStatus ?? "PENDING";
  return {
    DockerId: c.runtimeId ?? `${t.id}-${c.name}`,
    Name: c.name,
    DockerName: c.name,
    Image: c.image,
    ImageID: "",
    Labels: {
      "com.amazonaws.ecs.cluster": t.clusterArn,
      "com.amazonaws.ecs.container-name": c.name,
      "com.amazonaws.ecs.task-arn": t.arn,
      "com.amazonaws.ecs.task-definition-family": family,
      "com.amazonaws.ecs.task-definition-version": revision,
    },
    DesiredStatus: t.task.desiredStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    KnownStatus: known,
    ...(c.exitCode !== undefined ? { ExitCode: c.exitCode } : {}),
    Limits: { CPU: Number(def?.cpu ?? 0), ...(def?.memory !== undefined ? { Memory: def.memory } : {}) },
    CreatedAt: iso(t.task.pullStoppedAt ?? t.task.createdAt),
    StartedAt: known !== "PENDING" ? iso(t.task.startedAt ?? t.task.pullStoppedAt) : undefined,
    Type: "NORMAL",
    ContainerARN: c.containerArn,
    Networks: [
      {
        NetworkMode: "awsvpc",
        IPv4Addresses: [t.privateIp],
        AttachmentIndex: 0,
        MACAddress: t.macAddress,
        IPv4SubnetCIDRBlock: `${t.privateIp.split(".").slice(0, 3).join(".")}.0/24`,
        PrivateDNSName: `ip-${t.privateIp.replace(/\./g, "-")}.ec2.internal`,
        SubnetGatewayIpv4Address: `${t.privateIp.split(".").slice(0, 3).join(".")}.1/24`,
      },
    ],
  };
}

export function taskMetadata(t: FargateTask): Record<string, unknown> {
  const [family, revision] = (t.task.taskDefinitionArn ?? "").split("/").pop()!.split(":");
  const cpuUnits = Number(t.task.cpu ?? 0);
  return {
    Cluster: t.clusterArn,
    TaskARN: t.arn,
    Family: family,
    Revision: revision,
    DesiredStatus: t.task.desiredStatus,
    KnownStatus: t.task.lastStatus,
    Limits: { CPU: cpuUnits / 1024, Memory: Number(t.task.memory ?? 0) },
    PullStartedAt: iso(t.task.pullStartedAt),
    PullStoppedAt: iso(t.task.pullStoppedAt),
    AvailabilityZone: t.task.availabilityZone,
    LaunchType: t.task.launchType ?? "FARGATE",
    Containers: (t.task.containers ?? []).map((c) =>
      containerMetadata(
        t,
        c,
        t.containerDefs.find((d) => d.name === c.name),
      ),
    ),
    ClockDrift: { ClockErrorBound: 0.5, ReferenceTimestamp: iso(t.task.startedAt ?? t.task.createdAt), ClockSynchronizationStatus: "SYNCHRONIZED" },
    EphemeralStorageMetrics: { Utilized: 0, Reserved: (t.task.ephemeralStorage?.sizeInGiB ?? 20) * 1024 },
  };
}

/** A path segment, percent-decoded; undefined when its escapes are malformed (`%E0%A4%A`). */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Answers a metadata request, or undefined when the path is not a metadata path. */
export function handleMetadataRequest(app: AppContext, method: string, path: string): { status: number; body: unknown } | undefined {
  if (!path.startsWith(METADATA_PREFIX)) return undefined;
  if (method !== "GET" && method !== "HEAD") return { status: 405, body: { message: "Use GET." } };
  const tasks = app.find("fargateTasks");
  const parts = path.slice(METADATA_PREFIX.length).split("/").map(decodeSegment);
  if (parts.includes(undefined)) return { status: 400, body: { message: "The path has a malformed percent-encoding." } };
  const [token, container, ...rest] = parts as string[];
  const t = tasks?.byMetadataToken(token ?? "");
  const c = t?.task.containers?.find((x) => x.name === container);
  if (!t || !c) return { status: 404, body: { message: "No task metadata at this address." } };
  const sub = rest.join("/");
  if (sub === "")
    return {
      status: 200,
      body: containerMetadata(
        t,
        c,
        t.containerDefs.find((d) => d.name === c.name),
      ),
    };
  if (sub === "task") return { status: 200, body: taskMetadata(t) };
  if (sub === "stats" || sub === "task/stats")
    return { status: 200, body: sub === "stats" ? {} : Object.fromEntries((t.task.containers ?? []).map((x) => [x.runtimeId ?? x.name, {}])) };
  return { status: 404, body: { message: `No task metadata at ${sub}.` } };
}
