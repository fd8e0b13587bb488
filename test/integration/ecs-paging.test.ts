/**
 * ECS lists over many records in two accounts: ListClusters, ListTaskDefinitions (ASC/DESC,
 * familyPrefix, status) and ListTaskDefinitionFamilies page complete, disjoint and in order,
 * confined to the caller's account and region; tokens ECS did not issue are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";

const A = "111111111111";
const B = "222222222222";
let server: TestServer;
let ecsA: ECSClient;
let ecsB: ECSClient;
let ecsAWest: ECSClient;

const register = (ecs: ECSClient, family: string) =>
  ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "app", image: "busybox", command: ["true"], essential: true }],
    }),
  );

async function all<T>(call: (token?: string) => Promise<{ items: T[]; nextToken?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const p = await call(token);
    out.push(...p.items);
    token = p.nextToken;
  } while (token);
  return out;
}

// families "f-a", "f-a-b", "f-ab", "g" ... with "f-a" a prefix of two others: the order must still be by family, then revision
const FAMILIES = ["f-a", "f-a-b", "f-ab", "f_z", "g", "fa"];

beforeAll(async () => {
  server = await startTestServer();
  const creds = (account: string) => ({ accessKeyId: account, secretAccessKey: "test" });
  ecsA = new ECSClient(server.configFor(creds(A)));
  ecsB = new ECSClient(server.configFor(creds(B)));
  ecsAWest = new ECSClient(server.configFor(creds(A), "us-west-2"));
  for (let rev = 1; rev <= 12; rev++) for (const f of FAMILIES) await register(ecsA, f);
  for (let i = 0; i < 30; i++) await register(ecsB, `b-${i}`);
  for (let i = 0; i < 130; i++) await ecsA.send(new CreateClusterCommand({ clusterName: `c-${String(i).padStart(3, "0")}` }));
  for (let i = 0; i < 20; i++) await ecsB.send(new CreateClusterCommand({ clusterName: `c-${String(i).padStart(3, "0")}` }));
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe("ListClusters", () => {
  it("pages each account's ACTIVE clusters by ARN, and nothing of the other account or region", async () => {
    await ecsA.send(new DeleteClusterCommand({ cluster: "c-005" }));
    const arns = await all(async (t) => {
      const o = await ecsA.send(new ListClustersCommand({ maxResults: 7, nextToken: t }));
      return { items: o.clusterArns!, nextToken: o.nextToken };
    });
    const expected = Array.from({ length: 130 }, (_, i) => `arn:aws:ecs:us-east-1:${A}:cluster/c-${String(i).padStart(3, "0")}`).filter((a) => !a.endsWith("c-005"));
    expect(arns).toEqual(expected);
    const first = await ecsA.send(new ListClustersCommand({}));
    expect(first.clusterArns!.length).toBe(100);
    expect(first.nextToken).toBeDefined();
    expect((await ecsB.send(new ListClustersCommand({}))).clusterArns!.length).toBe(20);
    expect((await ecsAWest.send(new ListClustersCommand({}))).clusterArns).toEqual([]);
    // a token from account A gives account B only its own clusters
    const cross = await ecsB.send(new ListClustersCommand({ nextToken: first.nextToken }));
    for (const a of cross.clusterArns!) expect(a).toContain(`:${B}:`);
  });

  it("refuses tokens it did not issue and maxResults out of range", async () => {
    for (const bad of ["garbage!", Buffer.from("lf1:5").toString("base64"), "bm90LWEtdG9rZW4"]) {
      await expect(ecsA.send(new ListClustersCommand({ nextToken: bad }))).rejects.toMatchObject({ name: "InvalidParameterException", message: "Invalid token" });
    }
    await expect(ecsA.send(new ListClustersCommand({ maxResults: 101 }))).rejects.toMatchObject({ name: "InvalidParameterException" });
  });
});

describe("ListTaskDefinitions", () => {
  const arn = (f: string, r: number) => `arn:aws:ecs:us-east-1:${A}:task-definition/${f}:${r}`;
  const ascending = [...FAMILIES].sort().flatMap((f) => Array.from({ length: 12 }, (_, i) => arn(f, i + 1)));

  it("pages by family then numeric revision, ascending and descending", async () => {
    const list = (sort?: "ASC" | "DESC") =>
      all(async (t) => {
        const o = await ecsA.send(new ListTaskDefinitionsCommand({ maxResults: 5, nextToken: t, sort }));
        return { items: o.taskDefinitionArns!, nextToken: o.nextToken };
      });
    expect(await list()).toEqual(ascending);
    expect(await list("DESC")).toEqual([...ascending].reverse());
    const b = await ecsB.send(new ListTaskDefinitionsCommand({}));
    expect(b.taskDefinitionArns!.length).toBe(30);
    for (const a of b.taskDefinitionArns!) expect(a).toContain(`:${B}:`);
  });

  it("familyPrefix names one whole family (not a prefix), in both directions", async () => {
    const list = (familyPrefix: string, sort?: "ASC" | "DESC") =>
      all(async (t) => {
        const o = await ecsA.send(new ListTaskDefinitionsCommand({ familyPrefix, maxResults: 4, nextToken: t, sort }));
        return { items: o.taskDefinitionArns!, nextToken: o.nextToken };
      });
    const ofFamily = (f: string) => ascending.filter((a) => a.split("/")[1].split(":")[0] === f);
    expect(await list("f-a")).toEqual(ofFamily("f-a"));
    expect(await list("f-a", "DESC")).toEqual(ofFamily("f-a").reverse());
    expect(await list("g")).toEqual(ofFamily("g"));
    expect(await list("f")).toEqual([]);
    expect(await list("zzz")).toEqual([]);
  });

  it("status INACTIVE lists deregistered revisions; a family name resolves to its latest ACTIVE revision", async () => {
    await ecsA.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "f-a:12" }));
    await ecsA.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "f-a:3" }));
    const inactive = await ecsA.send(new ListTaskDefinitionsCommand({ status: "INACTIVE" }));
    expect(inactive.taskDefinitionArns).toEqual([arn("f-a", 3), arn("f-a", 12)]);
    const active = await ecsA.send(new ListTaskDefinitionsCommand({ familyPrefix: "f-a", maxResults: 100 }));
    expect(active.taskDefinitionArns).not.toContain(arn("f-a", 12));
    const latest = await ecsA.send(new DescribeTaskDefinitionCommand({ taskDefinition: "f-a" }));
    expect(latest.taskDefinition!.revision).toBe(11);
    const other = await ecsA.send(new DescribeTaskDefinitionCommand({ taskDefinition: "f-a-b" }));
    expect(other.taskDefinition!.revision).toBe(12);
  });
});

describe("ListTaskDefinitionFamilies", () => {
  it("pages distinct families by name for ACTIVE, INACTIVE and ALL", async () => {
    for (let r = 1; r <= 12; r++) await ecsA.send(new DeregisterTaskDefinitionCommand({ taskDefinition: `g:${r}` }));
    const list = (status?: "ACTIVE" | "INACTIVE" | "ALL", familyPrefix?: string) =>
      all(async (t) => {
        const o = await ecsA.send(new ListTaskDefinitionFamiliesCommand({ status, familyPrefix, maxResults: 2, nextToken: t }));
        return { items: o.families!, nextToken: o.nextToken };
      });
    const sorted = [...FAMILIES].sort();
    expect(await list()).toEqual(sorted.filter((f) => f !== "g"));
    expect(await list("INACTIVE")).toEqual(["g"]);
    expect(await list("ALL")).toEqual(sorted);
    expect(await list("ALL", "f-a")).toEqual(["f-a", "f-a-b", "f-ab"]);
    expect(await list("ALL", "f-a-")).toEqual(["f-a-b"]);
    expect(await list("ACTIVE", "f")).toEqual(sorted.filter((f) => f.startsWith("f")));
    const b = await ecsB.send(new ListTaskDefinitionFamiliesCommand({}));
    expect(b.families!.length).toBe(30);
  });
});
