import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SealError } from "../store/sealing.ts";
import { InvalidCursor, TaskOutputStore, type OutputRecord } from "./task-output.ts";

const ARN = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef";
const OTHER = "arn:aws:ecs:us-east-1:000000000000:task/default/ffffffffffffffffffffffffffffffff";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

describe("TaskOutputStore", () => {
  let dir: string;
  let store: TaskOutputStore;
  const key = randomBytes(32);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-output-"));
    store = new TaskOutputStore(join(dir, "task-output"), key, () => 1_700_000_000_000);
  });
  afterEach(async () => {
    store.closeAll();
    await rm(dir, { recursive: true, force: true });
  });

  const text = (rs: OutputRecord[]) => rs.map((r) => `${r.container}/${r.stream}:${r.data.toString()}`);

  it("reads back what was appended, per container and stream, and pages on with the cursor", () => {
    const w = store.open(ARN);
    w.append("web", "stdout", Buffer.from("hello\n"));
    w.append("web", "stderr", Buffer.from("oops\n"));
    w.append("side", "stdout", Buffer.from("side\n"));
    const all = store.read(ARN);
    expect(text(all.records)).toEqual(["web/stdout:hello\n", "web/stderr:oops\n", "side/stdout:side\n"]);
    expect(all.open).toBe(true);
    expect(all.records[0]!.timeMs).toBe(1_700_000_000_000);
    expect(text(store.read(ARN, { container: "side" }).records)).toEqual(["side/stdout:side\n"]);
    w.append("web", "stdout", Buffer.from("more\n"));
    const next = store.read(ARN, { cursor: all.cursor });
    expect(text(next.records)).toEqual(["web/stdout:more\n"]);
    w.close();
    expect(store.read(ARN, { cursor: next.cursor })).toMatchObject({ records: [], open: false });
  });

  it("bounds a page by what it reads, not what it returns: a filtered read pages on past other containers' output", async () => {
    const w = store.open(ARN);
    const chunk = Buffer.alloc(64 * 1024, "a");
    for (let i = 0; i < 20; i++) w.append("noisy", "stdout", chunk); // 1.25 MiB, more than one page
    w.append("quiet", "stdout", Buffer.from("found\n"));
    const first = store.read(ARN, { container: "quiet" });
    expect(first.records).toEqual([]);
    expect(first.caughtUp).toBe(false);
    const second = store.read(ARN, { container: "quiet", cursor: first.cursor });
    expect(text(second.records)).toEqual(["quiet/stdout:found\n"]);
    expect(second.caughtUp).toBe(true);
    w.close();
    const followed: string[] = [];
    for await (const r of store.follow(ARN, { container: "quiet" })) followed.push(r.data.toString());
    expect(followed).toEqual(["found\n"]);
  });

  it("keeps nothing in plaintext on disk", async () => {
    const w = store.open(ARN);
    const marker = `marker-${randomBytes(8).toString("hex")}`;
    w.append("web", "stdout", Buffer.from(marker));
    w.close();
    for (const f of await filesUnder(dir)) expect((await readFile(f)).includes(marker)).toBe(false);
    expect(store.read(ARN).records[0]!.data.toString()).toBe(marker);
  });

  it("refuses a cursor it did not give out, and records that were tampered with or copied to another task", async () => {
    const w = store.open(ARN);
    w.append("web", "stdout", Buffer.from("one"));
    w.append("web", "stdout", Buffer.from("two"));
    w.close();
    expect(() => store.read(ARN, { cursor: "5-0-AAAAAAAAAAAAAAAAAAAAAA" })).toThrow(InvalidCursor);
    const end = store.read(ARN).cursor;
    expect(() => store.read(OTHER, { cursor: end })).toThrow(InvalidCursor);
    expect(() => store.read(ARN, { cursor: end.replace(/^\d+/, "3") })).toThrow(InvalidCursor);
    expect(() => store.read(ARN, { cursor: "999999-3" })).toThrow(InvalidCursor);
    expect(() => store.read(ARN, { cursor: "../x" })).toThrow(InvalidCursor);
    const taskDir = (await readdir(join(dir, "task-output")))[0]!;
    const records = join(dir, "task-output", taskDir, "records");
    const bytes = await readFile(records);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(records, bytes);
    expect(() => store.read(ARN)).toThrow(SealError);
    // another task's directory with this task's files does not open either
    store.open(OTHER).close();
    const otherDir = (await readdir(join(dir, "task-output"))).find((d) => d !== taskDir)!;
    await writeFile(join(dir, "task-output", otherDir, "key"), await readFile(join(dir, "task-output", taskDir, "key")));
    expect(() => store.read(OTHER)).toThrow(SealError);
  });

  it("follows the output as it is written and ends when the task stops", async () => {
    const w = store.open(ARN);
    w.append("web", "stdout", Buffer.from("a"));
    const seen: string[] = [];
    const following = (async () => {
      for await (const r of store.follow(ARN)) seen.push(r.data.toString());
    })();
    await new Promise((r) => setTimeout(r, 20));
    w.append("web", "stdout", Buffer.from("b"));
    await new Promise((r) => setTimeout(r, 20));
    w.append("web", "stdout", Buffer.from("c"));
    w.close();
    await following;
    expect(seen).toEqual(["a", "b", "c"]);
  });

  it("drops a record cut short by a crash when the task's output is opened again", async () => {
    store.open(ARN).append("web", "stdout", Buffer.from("whole"));
    store.closeAll();
    const taskDir = (await readdir(join(dir, "task-output")))[0]!;
    const records = join(dir, "task-output", taskDir, "records");
    const whole = await readFile(records);
    await writeFile(records, Buffer.concat([whole, whole.subarray(0, whole.length - 5)]));
    const w = store.open(ARN);
    w.append("web", "stdout", Buffer.from("next"));
    w.close();
    expect(store.read(ARN).records.map((r) => r.data.toString())).toEqual(["whole", "next"]);
  });

  it("continues a task's output after a restart and removes what belongs to no known task", async () => {
    store.open(ARN).append("web", "stdout", Buffer.from("before"));
    store.closeAll();
    const again = new TaskOutputStore(join(dir, "task-output"), key, () => 0);
    const w = again.open(ARN);
    w.append("web", "stdout", Buffer.from("after"));
    w.close();
    expect(again.read(ARN).records.map((r) => r.data.toString())).toEqual(["before", "after"]);
    again.open(OTHER).close();
    again.removeAllExcept([OTHER]);
    expect(again.has(ARN)).toBe(false);
    expect(again.has(OTHER)).toBe(true);
    again.remove(OTHER);
    expect(again.has(OTHER)).toBe(false);
  });
});
