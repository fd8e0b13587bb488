/**
 * A service's load balancers, service registries, Service Connect configuration and managed EBS
 * volume configurations: checked as ECS checks them and kept, so DescribeServices shows what the
 * caller sent. localfargate has no Elastic Load Balancing, Cloud Map or EBS, so nothing is
 * registered and no volume is made (docs/ecs-fargate.md).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceRegistry.html
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectConfiguration.html
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceManagedEBSVolumeConfiguration.html
 */
import type { LoadBalancer, ServiceConnectConfiguration, ServiceRegistry, ServiceVolumeConfiguration, TaskDefinition } from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

/** Where the call is made: ARNs it names must be in this account and Region. */
export interface CallerScope {
  accountId: string;
  region: string;
}

/** ECS's limit on target groups per service. */
export const MAX_LOAD_BALANCERS = 5;

function arnParts(arn: string, service: string, resource: RegExp): { region: string; account: string } | undefined {
  const m = /^arn:aws:([a-z0-9-]+):([a-z0-9-]+):(\d{12}):(.+)$/.exec(arn);
  if (!m || m[1] !== service || !resource.test(m[4])) return undefined;
  return { region: m[2], account: m[3] };
}

function checkInScope(arn: string, parts: { region: string; account: string }, scope: CallerScope, what: string): void {
  if (parts.account !== scope.accountId) throw invalid(`The ${what} ${arn} must be in account ${scope.accountId}.`);
  if (parts.region !== scope.region) throw invalid(`The ${what} ${arn} must be in Region ${scope.region}.`);
}

function containerOf(def: TaskDefinition, name: string | undefined) {
  if (!name) throw invalid("Container Name can not be blank.");
  const c = def.containerDefinitions?.find((d) => d.name === name);
  if (!c) throw invalid(`The container ${name} does not exist in the task definition.`);
  return c;
}

function checkContainerPort(def: TaskDefinition, name: string | undefined, port: number | undefined): void {
  const c = containerOf(def, name);
  if (port === undefined) throw invalid("Container Port can not be blank.");
  if (!c.portMappings?.some((p) => p.containerPort === port)) throw invalid(`The container ${name} did not have a container port ${port} defined.`);
}

/** Fargate tasks use awsvpc: each entry names a target group, a container and one of its container ports; no service role. */
export function checkLoadBalancers(lbs: LoadBalancer[] | undefined, role: string | undefined, def: TaskDefinition, scope: CallerScope): LoadBalancer[] {
  const list = lbs ?? [];
  if (role && list.length === 0) throw invalid("You cannot specify an IAM role for services that do not have a load balancer.");
  if (list.length === 0) return [];
  if (role) throw invalid("You cannot specify an IAM role for services that require a service linked role.");
  if (list.length > MAX_LOAD_BALANCERS) throw invalid(`loadBalancers can have at most ${MAX_LOAD_BALANCERS} entries.`);
  const seen = new Set<string>();
  return list.map((lb) => {
    if (lb.loadBalancerName) throw invalid("loadBalancerName is not supported for tasks that use the awsvpc network mode; specify targetGroupArn.");
    if (!lb.targetGroupArn) throw invalid("targetGroupArn must be specified.");
    const parts = arnParts(lb.targetGroupArn, "elasticloadbalancing", /^targetgroup\/[a-zA-Z0-9-]{1,32}\/[0-9a-f]{16}$/);
    if (!parts) throw invalid(`Invalid targetGroupArn: ${lb.targetGroupArn}.`);
    checkInScope(lb.targetGroupArn, parts, scope, "target group");
    checkContainerPort(def, lb.containerName, lb.containerPort);
    const key = `${lb.targetGroupArn} ${lb.containerName} ${lb.containerPort}`;
    if (seen.has(key)) throw invalid("The same target group, container name and container port can only be specified once.");
    seen.add(key);
    const out: LoadBalancer = { targetGroupArn: lb.targetGroupArn, containerName: lb.containerName, containerPort: lb.containerPort };
    if (lb.advancedConfiguration) throw invalid("advancedConfiguration applies to blue/green deployments, which localfargate does not run.");
    return out;
  });
}

/**
 * Cloud Map service ARNs. With awsvpc an SRV-record service needs `port` (or containerName and
 * containerPort); an A-record one takes neither. Without the service's record types here, the
 * checks are the ones that hold either way: a port is 0-65535 and containerName goes with containerPort.
 */
export function checkServiceRegistries(regs: ServiceRegistry[] | undefined, def: TaskDefinition, scope: CallerScope): ServiceRegistry[] {
  const list = regs ?? [];
  if (list.length > 1) throw invalid("Only one service registry is supported per service.");
  return list.map((r) => {
    if (!r.registryArn) throw invalid("registryArn must be specified.");
    const parts = arnParts(r.registryArn, "servicediscovery", /^service\/srv-[a-z0-9]{16}$/);
    if (!parts) throw invalid(`Invalid registryArn: ${r.registryArn}.`);
    checkInScope(r.registryArn, parts, scope, "service registry");
    if (r.port !== undefined && (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535)) throw invalid("port must be between 0 and 65535.");
    if (r.port !== undefined && (r.containerName !== undefined || r.containerPort !== undefined))
      throw invalid("Specify either port, or containerName and containerPort, for a service registry, not both.");
    if ((r.containerName === undefined) !== (r.containerPort === undefined)) throw invalid("containerName and containerPort must be specified together.");
    if (r.containerName !== undefined) checkContainerPort(def, r.containerName, r.containerPort);
    const out: ServiceRegistry = { registryArn: r.registryArn };
    if (r.port !== undefined) out.port = r.port;
    if (r.containerName !== undefined) Object.assign(out, { containerName: r.containerName, containerPort: r.containerPort });
    return out;
  });
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$/;
const DNS_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})?$/;

/** Each service names a port mapping (by its `name`) of the task definition; client aliases and discovery names are DNS labels. */
export function checkServiceConnect(cfg: ServiceConnectConfiguration | undefined, def: TaskDefinition): ServiceConnectConfiguration | undefined {
  if (!cfg) return undefined;
  if (cfg.enabled === undefined) throw invalid("enabled must be specified in serviceConnectConfiguration.");
  if (!cfg.enabled) {
    if (cfg.services?.length) throw invalid("Service Connect services can only be specified when Service Connect is enabled.");
    return { enabled: false };
  }
  if (!cfg.namespace) throw invalid("A namespace must be specified when Service Connect is enabled.");
  const portNames = new Set<string>();
  for (const c of def.containerDefinitions ?? []) for (const p of c.portMappings ?? []) if (p.name) portNames.add(p.name);
  const discovery = new Set<string>();
  for (const s of cfg.services ?? []) {
    if (!s.portName) throw invalid("portName must be specified for each Service Connect service.");
    if (!portNames.has(s.portName)) throw invalid(`The port name ${s.portName} does not exist in any portMappings of the task definition.`);
    const name = s.discoveryName ?? s.portName;
    if (!PORT_NAME.test(name)) throw invalid(`Invalid discoveryName ${name}.`);
    if (discovery.has(name)) throw invalid(`The discoveryName ${name} is used by more than one Service Connect service.`);
    discovery.add(name);
    if ((s.clientAliases?.length ?? 0) > 1) throw invalid("Only one client alias is supported per Service Connect service.");
    for (const a of s.clientAliases ?? []) {
      if (a.port === undefined || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw invalid("clientAliases port must be between 1 and 65535.");
      if (a.dnsName !== undefined && !DNS_NAME.test(a.dnsName)) throw invalid(`Invalid clientAliases dnsName ${a.dnsName}.`);
    }
    if (s.ingressPortOverride !== undefined && (!Number.isInteger(s.ingressPortOverride) || s.ingressPortOverride < 1 || s.ingressPortOverride > 65535))
      throw invalid("ingressPortOverride must be between 1 and 65535.");
  }
  return structuredClone(cfg);
}

/** EBS volume types and the IOPS, throughput and size ranges EBS allows for each. */
const VOLUME_TYPES: Record<string, { size: [number, number]; iops?: [number, number]; iopsRequired?: boolean; throughput?: [number, number] }> = {
  gp2: { size: [1, 16384] },
  gp3: { size: [1, 16384], iops: [3000, 16000], throughput: [125, 1000] },
  io1: { size: [4, 16384], iops: [100, 64000], iopsRequired: true },
  io2: { size: [4, 65536], iops: [100, 256000], iopsRequired: true },
  st1: { size: [125, 16384] },
  sc1: { size: [125, 16384] },
  standard: { size: [1, 1024] },
};

function inRange(v: number, [lo, hi]: [number, number]): boolean {
  return Number.isInteger(v) && v >= lo && v <= hi;
}

/** Names a task definition volume that is configuredAtLaunch; one managed EBS volume per task. */
export function checkVolumeConfigurations(vols: ServiceVolumeConfiguration[] | undefined, def: TaskDefinition): ServiceVolumeConfiguration[] {
  const list = vols ?? [];
  if (list.length > 1) throw invalid("Only one volume configuration is supported.");
  return list.map((v) => {
    if (!v.name) throw invalid("The volume name must be specified.");
    const tdVolume = (def.volumes ?? []).find((d) => d.name === v.name);
    if (!tdVolume) throw invalid(`The volume ${v.name} does not exist in the task definition.`);
    if (!tdVolume.configuredAtLaunch) throw invalid(`The volume ${v.name} must be marked configuredAtLaunch in the task definition.`);
    const ebs = v.managedEBSVolume;
    if (!ebs) throw invalid(`managedEBSVolume must be specified for volume ${v.name}.`);
    if (!ebs.roleArn) throw invalid("The roleArn for the managed EBS volume must be specified.");
    if (!/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(ebs.roleArn)) throw invalid(`Invalid roleArn: ${ebs.roleArn}.`);
    const type = ebs.volumeType ?? "gp2";
    const rules = VOLUME_TYPES[type];
    if (!rules) throw invalid(`Invalid volumeType ${type}; valid types are ${Object.keys(VOLUME_TYPES).join(", ")}.`);
    if (ebs.sizeInGiB === undefined && !ebs.snapshotId) throw invalid("sizeInGiB must be specified when no snapshotId is given.");
    if (ebs.sizeInGiB !== undefined && !inRange(ebs.sizeInGiB, rules.size))
      throw invalid(`sizeInGiB for volume type ${type} must be between ${rules.size[0]} and ${rules.size[1]}.`);
    if (ebs.iops !== undefined) {
      if (!rules.iops) throw invalid(`iops is not supported for volume type ${type}.`);
      if (!inRange(ebs.iops, rules.iops)) throw invalid(`iops for volume type ${type} must be between ${rules.iops[0]} and ${rules.iops[1]}.`);
    } else if (rules.iopsRequired) throw invalid(`iops must be specified for volume type ${type}.`);
    if (ebs.throughput !== undefined) {
      if (!rules.throughput) throw invalid(`throughput is only supported for volume type gp3.`);
      if (!inRange(ebs.throughput, rules.throughput)) throw invalid(`throughput must be between ${rules.throughput[0]} and ${rules.throughput[1]}.`);
    }
    if (ebs.snapshotId !== undefined && !/^snap-[0-9a-f]{8,17}$/.test(ebs.snapshotId)) throw invalid(`Invalid snapshotId: ${ebs.snapshotId}.`);
    if (ebs.filesystemType !== undefined && !["ext3", "ext4", "xfs", "ntfs"].includes(ebs.filesystemType)) throw invalid(`Invalid filesystemType ${ebs.filesystemType}.`);
    return structuredClone(v);
  });
}

/** What a service keeps of these members. */
export interface ServiceAttachments {
  loadBalancers?: LoadBalancer[];
  serviceRegistries?: ServiceRegistry[];
  serviceConnectConfiguration?: ServiceConnectConfiguration;
  volumeConfigurations?: ServiceVolumeConfiguration[];
}

interface AttachmentInput extends ServiceAttachments {
  role?: string;
}

/**
 * Checks a CreateService or UpdateService call's members against the task definition the service
 * will run. On update a member not sent keeps its value and is checked again against that task
 * definition; sending one (an empty list clears it) makes a new deployment, as in ECS.
 */
export function checkServiceAttachments(
  input: AttachmentInput,
  def: TaskDefinition,
  scope: CallerScope,
  previous?: ServiceAttachments,
): { values: ServiceAttachments; changed: boolean } {
  const lbs = input.loadBalancers ?? previous?.loadBalancers;
  const values: ServiceAttachments = {
    loadBalancers: checkLoadBalancers(lbs, previous ? undefined : input.role, def, scope),
    serviceRegistries: checkServiceRegistries(input.serviceRegistries ?? previous?.serviceRegistries, def, scope),
    serviceConnectConfiguration: checkServiceConnect(input.serviceConnectConfiguration ?? previous?.serviceConnectConfiguration, def),
    volumeConfigurations: checkVolumeConfigurations(input.volumeConfigurations ?? previous?.volumeConfigurations, def),
  };
  const changed =
    input.loadBalancers !== undefined || input.serviceRegistries !== undefined || input.serviceConnectConfiguration !== undefined || input.volumeConfigurations !== undefined;
  return { values, changed };
}

/** The members a deployment (and its service revision) records from its service. */
export function attachmentFields(s: ServiceAttachments): Pick<ServiceAttachments, "serviceConnectConfiguration" | "volumeConfigurations"> {
  return {
    ...(s.serviceConnectConfiguration ? { serviceConnectConfiguration: s.serviceConnectConfiguration } : {}),
    ...(s.volumeConfigurations?.length ? { volumeConfigurations: s.volumeConfigurations } : {}),
  };
}
