/**
 * Each task's container output (stdout and stderr), kept encrypted at rest in the data dir from
 * the first byte until the task's record expires (docs/ecs-fargate.md#task-output).
 *
 * Layout: `<dir>/<sha256(task ARN)>/` holds `key` (the task's own 32-byte data key, sealed with
 * the server's task-output key and bound to the task's ARN) and `records`, an append-only file of
 * records `[u32 sequence][u32 length][sealed payload]`. The payload (container, stream, service
 * time, bytes) is AES-256-GCM under the task's data key with an AAD naming the task and the
 * record's sequence number, so a record moved, reordered, copied to another task or changed does
 * not open. Nothing of the output is written in plaintext; removing the directory (or its key)
 * erases it.
 *
 * The interface (append, read, follow) is what a log driver consumes.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { openBlob, sealBlob, SealError } from "../store/sealing.ts";
import { writePrivateFile } from "../store/key-file.ts";
import type { ContainerOutputSink, OutputStream } from "./containers.ts";

export interface OutputRecord {
  container: string;
  stream: OutputStream;
  /** service-clock ms when the server received the chunk */
  timeMs: number;
  data: Buffer;
}

export interface OutputPage {
  records: OutputRecord[];
  /** where the next read continues (opaque to clients) */
  cursor: string;
  /** false once the task has stopped and nothing more will be written */
  open: boolean;
  /** true when the page ends at the end of what is written (not at the page's budget) */
  caughtUp: boolean;
}

/** Output beyond this much per task is dropped (with one note saying so), so one task cannot fill the data dir. */
export const MAX_OUTPUT_BYTES_PER_TASK = 64 * 1024 * 1024;
/** What one read returns at most (a client pages on with the cursor). */
const MAX_PAGE_BYTES = 1024 * 1024;
const HEADER_BYTES = 8;
const KEY_AAD = "localfargate task output key|";
const KEY_BLOB_VERSION = 1;
const RECORD_VERSION = 1;
const STREAMS: OutputStream[] = ["stdout", "stderr"];

export const DROPPED_NOTE = `[localfargate] output beyond ${MAX_OUTPUT_BYTES_PER_TASK / (1024 * 1024)} MiB was dropped\n`;

function taskDirName(arn: string): string {
  return createHash("sha256").update(arn).digest("hex");
}

function recordAad(arn: string, seq: number): string {
  return `localfargate task output|${arn}|${seq}`;
}

function encodePayload(container: string, stream: OutputStream, timeMs: number, data: Buffer): Buffer {
  const name = Buffer.from(container, "utf8");
  const head = Buffer.alloc(1 + 8 + 2);
  head.writeUInt8(STREAMS.indexOf(stream), 0);
  head.writeDoubleBE(timeMs, 1);
  head.writeUInt16BE(name.length, 9);
  return Buffer.concat([head, name, data]);
}

function decodePayload(p: Buffer): OutputRecord {
  const stream = STREAMS[p.readUInt8(0)];
  const nameLen = p.readUInt16BE(9);
  if (!stream || 11 + nameLen > p.length) throw new SealError("malformed");
  return { stream, timeMs: p.readDoubleBE(1), container: p.subarray(11, 11 + nameLen).toString("utf8"), data: p.subarray(11 + nameLen) };
}

/**
 * "offset-seq-mac": the byte offset in `records`, the sequence number of the record there, and a
 * MAC under the task's data key, so a client can only continue where the server left it.
 */
function cursorMac(dataKey: Buffer, arn: string, offset: number, seq: number): string {
  return createHmac("sha256", dataKey).update(`localfargate output cursor|${arn}|${offset}|${seq}`).digest("base64url").slice(0, 22);
}

function makeCursor(dataKey: Buffer, arn: string, offset: number, seq: number): string {
  return `${offset}-${seq}-${cursorMac(dataKey, arn, offset, seq)}`;
}

function parseCursor(cursor: string | undefined, dataKey: Buffer | undefined, arn: string): { offset: number; seq: number } | undefined {
  if (cursor === undefined || cursor === "") return { offset: 0, seq: 0 };
  const m = /^(\d{1,15})-(\d{1,10})-([A-Za-z0-9_-]{22})$/.exec(cursor);
  if (!m || !dataKey) return undefined;
  const offset = Number(m[1]);
  const seq = Number(m[2]);
  const expected = Buffer.from(cursorMac(dataKey, arn, offset, seq));
  const given = Buffer.from(m[3]!);
  return expected.length === given.length && timingSafeEqual(expected, given) ? { offset, seq } : undefined;
}

export class InvalidCursor extends Error {
  constructor() {
    super("The cursor is not one this server gave out.");
  }
}

/** One task's writer: the sink its containers' output goes to while it runs. */
export class TaskOutputWriter implements ContainerOutputSink {
  private fd: number | undefined;
  private seq: number;
  private bytes: number;
  private dropped = false;
  private failed = false;

  constructor(
    private readonly store: TaskOutputStore,
    private readonly arn: string,
    private readonly dataKey: Buffer,
    private readonly recordsFile: string,
  ) {
    this.fd = openSync(recordsFile, "a", 0o600);
    const size = fstatSync(this.fd).size;
    const { count, end } = size === 0 ? { count: 0, end: 0 } : this.completeRecords();
    // a record cut short by a crash is dropped, so that the next one starts where a reader looks for it
    if (end < size) ftruncateSync(this.fd, end);
    this.bytes = end;
    this.seq = count;
  }

  private completeRecords(): { count: number; end: number } {
    const buf = readFileSync(this.recordsFile);
    let count = 0;
    let off = 0;
    while (off + HEADER_BYTES <= buf.length) {
      const next = off + HEADER_BYTES + buf.readUInt32BE(off + 4);
      if (next > buf.length) break;
      off = next;
      count++;
    }
    return { count, end: off };
  }

  append(container: string, stream: OutputStream, chunk: Buffer): void {
    if (this.fd === undefined || this.failed || chunk.length === 0) return;
    if (this.bytes + chunk.length > MAX_OUTPUT_BYTES_PER_TASK) {
      if (!this.dropped) {
        this.dropped = true;
        this.write(container, "stderr", Buffer.from(DROPPED_NOTE));
      }
      return;
    }
    this.write(container, stream, chunk);
  }

  private write(container: string, stream: OutputStream, chunk: Buffer): void {
    const sealed = sealBlob(this.dataKey, encodePayload(container, stream, this.store.now(), chunk), recordAad(this.arn, this.seq), RECORD_VERSION);
    const head = Buffer.alloc(HEADER_BYTES);
    head.writeUInt32BE(this.seq, 0);
    head.writeUInt32BE(sealed.length, 4);
    const record = Buffer.concat([head, sealed]);
    try {
      writeSync(this.fd!, record);
    } catch (e) {
      // A full disk must not take the task down: its output stops being kept, and the server says so once.
      this.failed = true;
      console.error(`[localfargate] output of task ${this.arn} is no longer kept: ${(e as Error).message}`);
      return;
    }
    this.seq++;
    this.bytes += record.length;
    this.store.notify(this.arn);
  }

  /** The task has stopped: nothing more is written, and followers are told. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.store.closed(this.arn);
  }
}

export class TaskOutputStore {
  private readonly writers = new Map<string, TaskOutputWriter>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly sealKey: () => Buffer;

  /**
   * @param dir where every task's output lives (created, mode 0700)
   * @param sealKey the server's 32-byte key that seals each task's data key (or what makes it when first needed)
   * @param now service-clock ms, stamped on each record
   */
  constructor(
    readonly dir: string,
    sealKey: Buffer | (() => Buffer),
    readonly now: () => number,
  ) {
    this.sealKey = typeof sealKey === "function" ? sealKey : () => sealKey;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private taskDir(arn: string): string {
    return join(this.dir, taskDirName(arn));
  }

  /** Starts (or, after a restart, continues) a task's output; the writer is its containers' sink. */
  open(arn: string): TaskOutputWriter {
    const existing = this.writers.get(arn);
    if (existing) return existing;
    // the key before the task's directory: a first key is made only over an empty store
    const sealKey = this.sealKey();
    const dir = this.taskDir(arn);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyFile = join(dir, "key");
    let dataKey: Buffer;
    if (existsSync(keyFile)) dataKey = openBlob(sealKey, readFileSync(keyFile), KEY_AAD + arn, KEY_BLOB_VERSION);
    else {
      dataKey = randomBytes(32);
      writePrivateFile(keyFile, sealBlob(sealKey, dataKey, KEY_AAD + arn, KEY_BLOB_VERSION));
    }
    const writer = new TaskOutputWriter(this, arn, dataKey, join(dir, "records"));
    this.writers.set(arn, writer);
    return writer;
  }

  /** Whether the task's output may still grow. */
  isOpen(arn: string): boolean {
    return this.writers.has(arn);
  }

  /** Whether any output was ever kept for the task. */
  has(arn: string): boolean {
    return existsSync(join(this.taskDir(arn), "key"));
  }

  /**
   * Records after `cursor` (from the start without one), at most about 1 MiB, only `container`'s
   * when given. Throws InvalidCursor for a cursor that does not point at a record, SealError for
   * records that do not open (tampered with).
   */
  read(arn: string, opts: { cursor?: string; container?: string } = {}): OutputPage {
    const dir = this.taskDir(arn);
    const open = this.isOpen(arn);
    const keyFile = join(dir, "key");
    if (!existsSync(keyFile)) {
      if (opts.cursor) throw new InvalidCursor();
      return { records: [], cursor: "", open, caughtUp: true };
    }
    const dataKey = openBlob(this.sealKey(), readFileSync(keyFile), KEY_AAD + arn, KEY_BLOB_VERSION);
    const at = parseCursor(opts.cursor, dataKey, arn);
    if (!at) throw new InvalidCursor();
    const file = join(dir, "records");
    const size = existsSync(file) ? statSync(file).size : 0;
    if (at.offset > size) throw new InvalidCursor();
    const records: OutputRecord[] = [];
    let { offset, seq } = at;
    let caughtUp = true;
    if (offset < size) {
      const fd = openSync(file, "r");
      try {
        let taken = 0;
        while (offset + HEADER_BYTES <= size && taken < MAX_PAGE_BYTES) {
          const head = Buffer.alloc(HEADER_BYTES);
          readSync(fd, head, 0, HEADER_BYTES, offset);
          const len = head.readUInt32BE(4);
          if (offset + HEADER_BYTES + len > size) break; // a record still being written
          if (head.readUInt32BE(0) !== seq) throw new SealError("malformed");
          const sealed = Buffer.alloc(len);
          readSync(fd, sealed, 0, len, offset + HEADER_BYTES);
          const r = decodePayload(openBlob(dataKey, sealed, recordAad(arn, seq), RECORD_VERSION));
          // every record read counts, matching or not: one page costs at most this much work
          taken += r.data.length;
          if (opts.container === undefined || r.container === opts.container) records.push(r);
          offset += HEADER_BYTES + len;
          seq++;
        }
        caughtUp = taken < MAX_PAGE_BYTES;
      } finally {
        closeSync(fd);
      }
    }
    return { records, cursor: makeCursor(dataKey, arn, offset, seq), open, caughtUp };
  }

  /**
   * Resolves when the task's output grows, it stops, `timeoutMs` of real time pass, or `signal`
   * aborts: a follower then reads on from its cursor.
   */
  wait(arn: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.isOpen(arn) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(arn);
      if (!set) this.waiters.set(arn, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set!.delete(done);
        if (set!.size === 0 && this.waiters.get(arn) === set) this.waiters.delete(arn);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done);
      set.add(done);
    });
  }

  /** Every record from `cursor` on, as it is written, until the task stops (or `signal` aborts). */
  async *follow(arn: string, opts: { cursor?: string; container?: string; signal?: AbortSignal } = {}): AsyncGenerator<OutputRecord> {
    let cursor = opts.cursor;
    for (;;) {
      const page = this.read(arn, { cursor, container: opts.container });
      yield* page.records;
      if (page.cursor === cursor && !page.open) return;
      cursor = page.cursor;
      if (opts.signal?.aborted) return;
      if (page.records.length === 0 && page.caughtUp) {
        if (!page.open) return;
        await this.wait(arn, 60_000, opts.signal);
      }
    }
  }

  /** @internal a writer wrote a record */
  notify(arn: string): void {
    for (const w of [...(this.waiters.get(arn) ?? [])]) w();
  }

  /** @internal a writer closed */
  closed(arn: string): void {
    this.writers.delete(arn);
    this.notify(arn);
  }

  /** The task's record is gone: so is its output. */
  remove(arn: string): void {
    this.writers.get(arn)?.close();
    rmSync(this.taskDir(arn), { recursive: true, force: true });
  }

  /** Removes the output of every task not in `keep` (tasks forgotten while the server was down). */
  removeAllExcept(keep: Iterable<string>): void {
    const names = new Set([...keep].map(taskDirName));
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const e of entries) if (!names.has(e)) rmSync(join(this.dir, e), { recursive: true, force: true });
  }

  /** Server shutdown: every writer closes (followers end). */
  closeAll(): void {
    for (const w of [...this.writers.values()]) w.close();
  }
}
