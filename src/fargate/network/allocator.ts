/**
 * The task address allocator, persisted in the data dir (`network/allocations.json`): which
 * slot of the bridge subnet each task network holds. It is written before a namespace is created
 * and cleared only after the namespace is gone, so a restart never hands out an address that a
 * namespace of the previous run may still hold.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { TASK_SLOTS } from "./addresses.ts";

export interface Allocation {
  slot: number;
  netns: string;
  hostVeth: string;
}

export interface AllocationState {
  /** The bridge subnet this state's slots belong to ("10.89.0.0/16"). */
  subnet?: string;
  tasks: Record<string, Allocation>;
}

export class AddressExhaustedError extends Error {
  constructor() {
    super(`All ${TASK_SLOTS} task network addresses are in use`);
  }
}

function isAllocation(v: unknown): v is Allocation {
  if (typeof v !== "object" || v === null) return false;
  const a = v as Record<string, unknown>;
  return typeof a.slot === "number" && Number.isInteger(a.slot) && a.slot >= 0 && a.slot < TASK_SLOTS && typeof a.netns === "string" && typeof a.hostVeth === "string";
}

export class AddressAllocator {
  private state: AllocationState = { tasks: {} };

  private constructor(private readonly file: string) {}

  /** Load the state (an absent file is an empty state; a damaged one is refused, not guessed). */
  static async open(file: string): Promise<AddressAllocator> {
    const alloc = new AddressAllocator(file);
    let text: string | undefined;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`The task network allocations file ${file} is not valid JSON; remove it after removing its lf-* network namespaces`);
      }
      const p = parsed as { subnet?: unknown; tasks?: unknown };
      const tasks: Record<string, Allocation> = Object.create(null) as Record<string, Allocation>;
      if (typeof p.tasks === "object" && p.tasks !== null) {
        for (const [id, a] of Object.entries(p.tasks)) if (isAllocation(a)) tasks[id] = a;
      }
      alloc.state = { subnet: typeof p.subnet === "string" ? p.subnet : undefined, tasks };
    } else {
      alloc.state = { tasks: Object.create(null) as Record<string, Allocation> };
    }
    return alloc;
  }

  get subnet(): string | undefined {
    return this.state.subnet;
  }

  get(taskId: string): Allocation | undefined {
    return Object.hasOwn(this.state.tasks, taskId) ? this.state.tasks[taskId] : undefined;
  }

  entries(): [string, Allocation][] {
    return Object.entries(this.state.tasks);
  }

  /** Record the subnet the slots refer to; only allowed while no slot is held. */
  async setSubnet(subnet: string): Promise<void> {
    if (this.state.subnet === subnet) return;
    if (this.entries().length) throw new Error(`Task network addresses of subnet ${this.state.subnet} are still held`);
    this.state.subnet = subnet;
    await this.save();
  }

  /** The lowest free slot, recorded and persisted before it is returned. */
  async allocate(taskId: string, names: (slot: number) => Omit<Allocation, "slot">): Promise<Allocation> {
    if (this.get(taskId)) throw new Error(`Task ${taskId} already has a network`);
    const used = new Set(this.entries().map(([, a]) => a.slot));
    let slot = 0;
    while (used.has(slot)) slot++;
    if (slot >= TASK_SLOTS) throw new AddressExhaustedError();
    const allocation = { slot, ...names(slot) };
    this.state.tasks[taskId] = allocation;
    try {
      await this.save();
    } catch (e) {
      delete this.state.tasks[taskId];
      throw e;
    }
    return allocation;
  }

  async release(taskId: string): Promise<void> {
    if (!this.get(taskId)) return;
    delete this.state.tasks[taskId];
    await this.save();
  }

  private async save(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, JSON.stringify(this.state, null, 2) + "\n", { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
