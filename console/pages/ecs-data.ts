/** ECS reads the console shares: clusters with their storage key, services, tasks. */
import { all, json, type CallTarget } from "../aws.ts";
import { lastPart } from "../dom.ts";

export interface Cluster {
  clusterArn: string;
  clusterName: string;
  status: string;
  runningTasksCount?: number;
  pendingTasksCount?: number;
  activeServicesCount?: number;
  configuration?: { managedStorageConfiguration?: { fargateEphemeralStorageKmsKeyId?: string; kmsKeyId?: string } };
}

export interface Deployment {
  id: string;
  status: string;
  taskDefinition?: string;
  desiredCount?: number;
  runningCount?: number;
  pendingCount?: number;
  failedTasks?: number;
  rolloutState?: string;
  rolloutStateReason?: string;
  createdAt?: number;
  updatedAt?: number;
}

export interface Service {
  serviceArn: string;
  serviceName: string;
  status: string;
  desiredCount?: number;
  runningCount?: number;
  pendingCount?: number;
  taskDefinition?: string;
  deployments?: Deployment[];
  deploymentConfiguration?: { minimumHealthyPercent?: number; maximumPercent?: number };
  events?: { id: string; createdAt: number; message: string }[];
}

export interface Container {
  name: string;
  image?: string;
  lastStatus?: string;
  exitCode?: number;
  reason?: string;
  healthStatus?: string;
}

export interface Task {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn?: string;
  group?: string;
  startedBy?: string;
  lastStatus: string;
  desiredStatus?: string;
  stopCode?: string;
  stoppedReason?: string;
  healthStatus?: string;
  createdAt?: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  containers?: Container[];
  fargateEphemeralStorage?: { sizeInGiB?: number; kmsKeyId?: string };
  attachments?: { id: string; type: string; status?: string; details?: { name: string; value: string }[] }[];
}

export async function listClusters(t: CallTarget): Promise<Cluster[]> {
  const arns = await all<string>(t, "ecs", "ListClusters", {}, "clusterArns");
  const out: Cluster[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const r = await json(t, "ecs", "DescribeClusters", { clusters: arns.slice(i, i + 100), include: ["CONFIGURATIONS"] });
    out.push(...((r.clusters as Cluster[]) ?? []));
  }
  return out.sort((a, b) => a.clusterName.localeCompare(b.clusterName));
}

export async function describeCluster(t: CallTarget, name: string): Promise<Cluster | undefined> {
  const r = await json(t, "ecs", "DescribeClusters", { clusters: [name], include: ["CONFIGURATIONS"] });
  return (r.clusters as Cluster[] | undefined)?.[0];
}

export const storageKey = (c: Cluster | undefined): string | undefined => c?.configuration?.managedStorageConfiguration?.fargateEphemeralStorageKmsKeyId;

export async function listServices(t: CallTarget, cluster: string): Promise<Service[]> {
  const arns = await all<string>(t, "ecs", "ListServices", { cluster }, "serviceArns");
  const out: Service[] = [];
  for (let i = 0; i < arns.length; i += 10) {
    const r = await json(t, "ecs", "DescribeServices", { cluster, services: arns.slice(i, i + 10) });
    out.push(...((r.services as Service[]) ?? []));
  }
  return out;
}

/** Running and recently stopped tasks (ECS keeps stopped ones visible for a while). */
export async function listTasks(t: CallTarget, cluster: string, filter: Record<string, string> = {}): Promise<Task[]> {
  const arns = [
    ...(await all<string>(t, "ecs", "ListTasks", { cluster, desiredStatus: "RUNNING", ...filter }, "taskArns")),
    ...(await all<string>(t, "ecs", "ListTasks", { cluster, desiredStatus: "STOPPED", ...filter }, "taskArns")),
  ];
  const out: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const r = await json(t, "ecs", "DescribeTasks", { cluster, tasks: arns.slice(i, i + 100) });
    out.push(...((r.tasks as Task[]) ?? []));
  }
  return out.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
}

export const taskId = (t: Task): string => lastPart(t.taskArn);

/** The deployment a service task belongs to: its startedBy is the deployment id (ecs-svc/…). */
export const deploymentOf = (t: Task): string | undefined => (t.startedBy?.startsWith("ecs-svc/") ? t.startedBy : undefined);
