/**
 * ListKeys and ListAliases with thousands of keys across two accounts: every page belongs to the
 * caller's account and region, pages are complete, disjoint and in creation (ListKeys) or name
 * (ListAliases) order, and markers are checked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAliasCommand, CreateKeyCommand, KMSClient, ListAliasesCommand, ListKeysCommand, type KeyListEntry } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { expectKmsError } from "./kms-helpers.ts";

const A = "111111111111";
const B = "222222222222";
const COUNT_A = 1_500;
const COUNT_B = 2_500;

let server: TestServer;
let kmsA: KMSClient;
let kmsB: KMSClient;
let kmsAWest: KMSClient;
const created: Record<string, string[]> = { [A]: [], [B]: [] };

async function createMany(client: KMSClient, account: string, n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const out = await client.send(new CreateKeyCommand({}));
      created[account].push(out.KeyMetadata!.KeyId!);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function listAll(client: KMSClient, limit: number): Promise<{ keys: KeyListEntry[]; pages: number }> {
  const keys: KeyListEntry[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const out = await client.send(new ListKeysCommand({ Limit: limit, Marker: marker }));
    pages++;
    keys.push(...out.Keys!);
    expect(out.Truncated).toBe(out.NextMarker !== undefined);
    if (out.Truncated) expect(out.Keys!.length).toBe(limit);
    marker = out.NextMarker;
  } while (marker);
  return { keys, pages };
}

beforeAll(async () => {
  server = await startTestServer();
  const creds = (account: string) => ({ accessKeyId: account, secretAccessKey: "test" });
  kmsA = new KMSClient(server.configFor(creds(A)));
  kmsB = new KMSClient(server.configFor(creds(B)));
  kmsAWest = new KMSClient(server.configFor(creds(A), "us-west-2"));
  await Promise.all([createMany(kmsA, A, COUNT_A), createMany(kmsB, B, COUNT_B)]);
}, 300_000);

afterAll(async () => {
  await server?.close();
});

describe("ListKeys over thousands of keys in two accounts", () => {
  it("each account pages through exactly its own keys, once each, in creation order", async () => {
    for (const [client, account, count] of [
      [kmsA, A, COUNT_A],
      [kmsB, B, COUNT_B],
    ] as const) {
      const { keys, pages } = await listAll(client, 100);
      expect(pages).toBe(Math.ceil(count / 100));
      expect(keys.length).toBe(count);
      expect(new Set(keys.map((k) => k.KeyId)).size).toBe(count);
      expect(new Set(keys.map((k) => k.KeyId))).toEqual(new Set(created[account]));
      for (const k of keys) expect(k.KeyArn).toBe(`arn:aws:kms:us-east-1:${account}:key/${k.KeyId}`);
    }
    // the order is creation order: a key created now comes last
    const late = await kmsA.send(new CreateKeyCommand({}));
    const { keys } = await listAll(kmsA, 1000);
    expect(keys[keys.length - 1].KeyId).toBe(late.KeyMetadata!.KeyId);
    expect(keys.length).toBe(COUNT_A + 1);
  }, 120_000);

  it("the default page is 100 keys; another region of the same account has none", async () => {
    const out = await kmsB.send(new ListKeysCommand({}));
    expect(out.Keys!.length).toBe(100);
    expect(out.Truncated).toBe(true);
    const west = await kmsAWest.send(new ListKeysCommand({}));
    expect(west.Keys).toEqual([]);
    expect(west.Truncated).toBe(false);
  });

  it("a marker from one account, given by another, only ever yields the caller's keys", async () => {
    const fromA = await kmsA.send(new ListKeysCommand({ Limit: 10 }));
    const out = await kmsB.send(new ListKeysCommand({ Limit: 1000, Marker: fromA.NextMarker }));
    for (const k of out.Keys!) expect(k.KeyArn!.includes(`:${B}:`)).toBe(true);
  });

  it("refuses markers it did not issue with InvalidMarkerException", async () => {
    for (const bad of ["garbage!", "bm90LWEtbWFya2Vy", Buffer.from("lf1:0").toString("base64url")]) {
      await expectKmsError(kmsA.send(new ListKeysCommand({ Marker: bad })), "InvalidMarkerException", "Invalid marker");
    }
  });
});

describe("ListAliases over many aliases in two accounts", () => {
  it("pages each account's aliases by name, complete and disjoint", async () => {
    const names: Record<string, string[]> = { [A]: [], [B]: [] };
    for (const [client, account] of [
      [kmsA, A],
      [kmsB, B],
    ] as const) {
      for (let i = 0; i < 120; i++) {
        const name = `alias/${account === A ? "a" : "b"}-${String((i * 37) % 120).padStart(3, "0")}`;
        await client.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: created[account][i % 7] }));
        names[account].push(name);
      }
    }
    for (const [client, account] of [
      [kmsA, A],
      [kmsB, B],
    ] as const) {
      const seen: string[] = [];
      let marker: string | undefined;
      do {
        const out = await client.send(new ListAliasesCommand({ Limit: 25, Marker: marker }));
        seen.push(...out.Aliases!.map((a) => a.AliasName!));
        marker = out.NextMarker;
      } while (marker);
      // besides the predefined AWS managed aliases (alias/aws/...), listed in every account
      expect(seen.filter((n) => !n.startsWith("alias/aws/"))).toEqual([...names[account]].sort());
    }
    // filtered by key: only that key's aliases, by name
    const forKey = await kmsA.send(new ListAliasesCommand({ KeyId: created[A][3] }));
    expect(forKey.Aliases!.map((a) => a.AliasName)).toEqual(names[A].filter((_, i) => i % 7 === 3).sort());
  });
});
